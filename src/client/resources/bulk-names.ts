/** The bulk methods' names and how they are put onto a class: shared by their installer and the browser's stand-ins. */

/** The names of the bulk methods, on both store clients. */
export const BULK_METHODS = ['putRecords', 'getRecords', 'deleteRecords'] as const;

/** Defines methods on a prototype as a class body would: not enumerable, replaceable. @internal */
export function defineMethods(prototype: object, methods: object): void {
  for (const [name, value] of Object.entries(methods)) {
    Object.defineProperty(prototype, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
