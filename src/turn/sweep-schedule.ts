/** The schedule's grain: the sweeper's tick. */
export const SWEEP_RESOLUTION_MS = 1000;

/**
 * When each item next needs the sweeper, to the second, so that a sweep visits only what is due. A
 * sweep that walked every allocation took 30-40 ms each second at 100,000 allocations (each with a
 * permission and a channel): a pause for every packet on the thread, and CPU that grew with the table.
 *
 * A lifetime that grows (a Refresh, a refreshed permission) moves nothing: the item comes up at its old
 * time, and whoever takes it schedules it again for what is then its earliest expiry. Only a time
 * earlier than the one held moves an item. An item is in one bucket at most, and a forgotten one in
 * none: the schedule keeps nothing alive that has gone.
 */
export class SweepSchedule<T> {
  private readonly buckets = new Map<number, Set<T>>();
  /** Each scheduled item's bucket. */
  private readonly bucketOf = new Map<T, number>();

  /** Items scheduled. */
  get size(): number {
    return this.bucketOf.size;
  }

  /** Seconds with something due. */
  get bucketCount(): number {
    return this.buckets.size;
  }

  /** `item` has something that expires at `atMs`: takeDue returns it at that time, or up to a grain before. */
  atLatest(item: T, atMs: number): void {
    const bucket = Math.floor(atMs / SWEEP_RESOLUTION_MS);
    const held = this.bucketOf.get(item);
    if (held !== undefined) {
      if (held <= bucket) return;
      this.leave(item, held);
    }
    this.bucketOf.set(item, bucket);
    const items = this.buckets.get(bucket);
    if (items === undefined) this.buckets.set(bucket, new Set([item]));
    else items.add(item);
  }

  /** `item` is gone: it is never returned, and no longer referenced. */
  forget(item: T): void {
    const held = this.bucketOf.get(item);
    if (held === undefined) return;
    this.bucketOf.delete(item);
    this.leave(item, held);
  }

  /**
   * Every item with something expired at `nowMs`, and those due later in the same grain: each once, and
   * no longer scheduled. Whoever takes one early schedules it again, and the next call returns it.
   */
  takeDue(nowMs: number): T[] {
    const last = Math.floor(nowMs / SWEEP_RESOLUTION_MS);
    const due: T[] = [];
    // Few keys: one per second of the longest lifetime at most.
    for (const [bucket, items] of this.buckets) {
      if (bucket > last) continue;
      this.buckets.delete(bucket);
      for (const item of items) {
        this.bucketOf.delete(item);
        due.push(item);
      }
    }
    return due;
  }

  private leave(item: T, bucket: number): void {
    const items = this.buckets.get(bucket)!;
    items.delete(item);
    if (items.size === 0) this.buckets.delete(bucket);
  }
}
