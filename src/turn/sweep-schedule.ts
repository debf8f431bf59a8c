/** The schedule's grain: the sweeper's tick. */
export const SWEEP_RESOLUTION_MS = 1000;

/**
 * When each item next needs the sweeper, to the second, so that a sweep visits only what is due. A
 * sweep that walked every allocation took 30-40 ms each second at 100,000 allocations (each with a
 * permission and a channel): a pause for every packet on the thread, and CPU that grew with the table.
 *
 * A lifetime that grows (a Refresh, a refreshed permission) moves nothing: the item comes up at its old
 * time, and whoever takes it schedules it again for what is then its earliest expiry. Only a time
 * earlier than the one held moves an item, and its entry in the later bucket is left to be skipped.
 */
export class SweepSchedule<T> {
  private readonly buckets = new Map<number, T[]>();
  /** Each scheduled item's one live bucket. */
  private readonly bucketOf = new Map<T, number>();

  get size(): number {
    return this.bucketOf.size;
  }

  /** `item` has something that expires at `atMs`: takeDue returns it at that time, or up to a grain before. */
  atLatest(item: T, atMs: number): void {
    const bucket = Math.floor(atMs / SWEEP_RESOLUTION_MS);
    const held = this.bucketOf.get(item);
    if (held !== undefined && held <= bucket) return;
    this.bucketOf.set(item, bucket);
    const items = this.buckets.get(bucket);
    if (items === undefined) this.buckets.set(bucket, [item]);
    else items.push(item);
  }

  /** `item` is gone: it is never returned. */
  forget(item: T): void {
    this.bucketOf.delete(item);
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
        // Moved to an earlier bucket, forgotten, or already taken from a duplicate entry.
        if (this.bucketOf.get(item) !== bucket) continue;
        this.bucketOf.delete(item);
        due.push(item);
      }
    }
    return due;
  }
}
