import type { Socket } from "node:net";

/**
 * Holds what is written to stream sockets during one turn of the event loop and writes each socket's
 * share at once when the turn ends (its check phase). Datagrams from peers are read in bursts, one
 * poll at a time: a burst for one client then costs one writev instead of one per frame.
 */
export class TurnEndFlush {
  private held: Socket[] = [];
  private spare: Socket[] = [];
  private scheduled = false;

  /** Corks `socket` until the end of this turn (once, however often it is called in the turn). */
  hold(socket: Socket): void {
    if (socket.writableCorked > 0) return;
    socket.cork();
    this.held.push(socket);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Writes what `socket` holds now, before the turn ends (the socket is about to be destroyed). */
  release(socket: Socket): void {
    if (socket.writableCorked > 0) socket.uncork();
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const sockets = this.held;
    this.held = this.spare;
    this.spare = sockets;
    for (const socket of sockets) socket.uncork();
    sockets.length = 0;
  };
}
