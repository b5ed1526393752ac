/** "1 file", "2 files", "1,234 entries": counts in messages, summaries and listings. */
export function plural(count: number, noun: string, pluralNoun = noun.endsWith('y') && !/[aeiou]y$/.test(noun) ? `${noun.slice(0, -1)}ies` : `${noun}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? noun : pluralNoun}`;
}
