/**
 * Frees an ArrayBuffer's memory now, where the runtime can (ArrayBuffer.prototype.transfer, Node
 * 21+, detaches it: every view of it becomes empty). For a buffer that came from a worker thread
 * (a compressed block in a backup, an inflated one in verify), which is its only owner: the
 * worker's malloc arena keeps that memory until it is freed, and left to this thread's garbage
 * collector, two zstd workers' arenas held ~58 MB each (pmap). Freed once written, peak RSS of a
 * zstd backup of the large corpus fell from 221-272 to 173-183 MB (docs/BENCHMARKS.md).
 */
export function freeNow(buffer: ArrayBufferLike): void {
  (buffer as { transfer?: (length: number) => ArrayBuffer }).transfer?.call(buffer, 0);
}
