// A key that node:crypto cannot hold as a KeyObject under the running Node: its material, read
// only by its own mechanism, with the public part computed when it was made.
export class MaterialKey {
  readonly #material: Uint8Array;

  /**
   * `material` is the key's secret form as its mechanism defines it (a seed, a scalar and chain
   * code...); it is copied, so the caller wipes its own copy.
   */
  constructor(
    readonly algorithm: string,
    material: Uint8Array,
    readonly publicPart: Uint8Array,
  ) {
    this.#material = Uint8Array.from(material);
  }

  /** The material, for the mechanism of `algorithm` only (a key of another is a bug, refused). */
  materialFor(algorithm: string): Uint8Array {
    if (algorithm !== this.algorithm) {
      // A programming error, never a client's: it surfaces as an unexpected failure.
      throw new Error(`a ${this.algorithm} key was given to the ${algorithm} mechanism`);
    }
    return this.#material;
  }

  /** Overwrites the material (the key is unusable afterwards). */
  wipe(): void {
    this.#material.fill(0);
  }

  /** Never the material, whatever logs or serialises the object. */
  toJSON(): { algorithm: string } {
    return { algorithm: this.algorithm };
  }
}
