// Which relay thread the kernel hands a UDP client depends on the places of the threads' sockets in
// the port's SO_REUSEPORT group: Linux picks place floor(hash(4-tuple) × n / 2^32) of n. A socket
// that closes gives its place to the group's last, and a new one goes last. So a thread that dies
// and comes back reorders the group, and the other threads' clients land on threads that do not
// know them (437 to every Refresh) for as long as it stays so. This models the group, and says which
// thread should close and rebind its socket next to put every thread back in its place.

export class ReuseportOrder {
  /** Thread indices by place in the group, as the kernel holds them. */
  private readonly places: number[] = [];

  /** @param threads the group is in order when thread i holds place i, for every thread. */
  constructor(private readonly threads: number) {}

  /** The thread's sockets joined the group. */
  bound(thread: number): void {
    this.places.push(thread);
  }

  /** The thread's sockets left the group (it died, or closes to rebind). */
  closed(thread: number): void {
    const place = this.places.indexOf(thread);
    if (place < 0) return;
    const last = this.places.pop()!;
    if (place < this.places.length) this.places[place] = last;
  }

  get inOrder(): boolean {
    return this.places.length === this.threads && this.places.every((thread, place) => thread === place);
  }

  /**
   * The thread to rebind next, or undefined when the group is in order or not whole (a thread is
   * down: wait for it). Each step puts the first misplaced thread in its place or makes it last (so
   * that the next step does), and changes no place before it: at most two rebinds per misplaced thread.
   */
  nextRebind(): number | undefined {
    if (this.places.length !== this.threads) return undefined;
    const place = this.places.findIndex((thread, at) => thread !== at);
    if (place < 0) return undefined;
    // Rebinding the thread at `place` moves the last into it: right when the last is the one wanted.
    return this.places[this.places.length - 1] === place ? this.places[place] : place;
  }

  /** What the kernel does on a rebind: leaves the group, then joins it last. */
  rebound(thread: number): void {
    this.closed(thread);
    this.bound(thread);
  }
}
