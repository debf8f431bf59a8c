/** The endpoint could not start; the message is one line an operator can act on. */
export class ApiStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ApiStartError";
  }
}
