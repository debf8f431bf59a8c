import type dgram from "node:dgram";
import { LISTENER_QUEUE, sendQueueFull } from "./send-queue.js";

/**
 * Holds the STUN answers a UDP listener sends during one turn of the event loop and sends them
 * back to back when the turn ends (its check phase). On loopback a send does the receiver's work
 * too, waking it if it sleeps; answers sent one by one, between requests, woke a client that had
 * gone back to sleep almost every time. Relayed data does not wait here, so a peer's data relayed in
 * the same turn may reach the client before the answer that made it possible (UDP never promised
 * their order).
 */
export class UdpReplyQueue {
  private readonly data: Buffer[] = [];
  private readonly ports: number[] = [];
  private readonly addresses: string[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    private socket: dgram.Socket,
    /** A send that throws (a bug, or the socket gone under us) is reported here, never raised. */
    private readonly onError: (error: unknown) => void,
  ) {}

  send(data: Buffer, port: number, address: string): void {
    if (this.closed) return;
    this.data.push(data);
    this.ports.push(port);
    this.addresses.push(address);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Answers go on `socket` from now on, closed or not before. */
  moveTo(socket: dgram.Socket): void {
    this.socket = socket;
    this.closed = false;
  }

  /** Sends what is held now: the socket is closing. Later answers are dropped (until moveTo). */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const { data, ports, addresses } = this;
    for (let i = 0; i < data.length && !this.closed; i++) {
      try {
        // A full queue drops the answer: the client retransmits its request.
        if (sendQueueFull(this.socket, LISTENER_QUEUE)) continue;
        this.socket.send(data[i]!, ports[i], addresses[i]);
      } catch (error) {
        this.onError(error);
      }
    }
    data.length = 0;
    ports.length = 0;
    addresses.length = 0;
  };
}
