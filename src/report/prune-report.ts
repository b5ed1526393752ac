/** A prune result in words, as the CLI prints it and gulp logs it. */
import type { PruneResult } from '../engine/chain/prune.js';
import { plural } from '../engine/plural.js';
import { capped, formatBytes } from './format.js';

/** What a prune kept (and why) and removed (and what that freed), as the CLI and pruneTask print it. */
export function formatPruneResult(result: PruneResult, quiet: boolean): string[] {
  const verb = result.dryRun ? 'would remove' : 'removed';
  const lines = [
    `${result.dryRun ? 'Dry run, nothing removed: ' : ''}${result.folder}: kept ${plural(result.kept.length, 'backup')}, ${verb} ${result.removed.length} (${formatBytes(result.freedBytes)} ${result.dryRun ? 'to free' : 'freed'})`,
  ];
  const when = (iso: string) => iso.replace('T', ' ').slice(0, 16);
  if (!quiet) lines.push(...capped(result.kept.map((b) => `  keep   ${b.manifest} (${b.kind}, ${when(b.createdAt)}): ${b.reasons.join(', ')}`), 'kept'));
  lines.push(...capped(result.removed.map((b) => `  ${result.dryRun ? 'remove' : 'removed'} ${b.manifest} (${b.kind}, ${when(b.createdAt)}), ${formatBytes(b.bytes)}`), verb));
  for (const item of result.unreadable) lines.push(`  warning: ${item.manifest} cannot be read, so it was left alone: ${item.reason}`);
  if (result.cleaned.length > 0) lines.push(`  ${result.dryRun ? 'would remove' : 'removed'} what interrupted runs left: ${result.cleaned.join(', ')}`);
  return lines;
}
