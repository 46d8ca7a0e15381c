//! A shared "now" for relative times, ticking slowly: "3 min ago" need not
//! re-render every second.

export class Clock {
  now = $state(Date.now());

  /** Starts ticking; returns the function that stops it (call it on destroy). */
  start(everyMs = 15_000): () => void {
    this.now = Date.now();
    const id = setInterval(() => {
      this.now = Date.now();
    }, everyMs);
    return () => clearInterval(id);
  }
}
