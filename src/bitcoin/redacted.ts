/**
 * A base for classes that hold secrets (seeds, key chains, secret producers): every way a
 * value usually gets printed — string conversion, JSON, console.log / util.inspect — shows
 * only "<ClassName>(<redacted>)", so a secret never reaches a log by accident.
 */
export abstract class Redacted {
  /** Redacted. */
  toString(): string {
    return `${this.constructor.name}(<redacted>)`;
  }

  /** Redacted. */
  toJSON(): string {
    return this.toString();
  }

  /** Redacted for util.inspect / console.log. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
