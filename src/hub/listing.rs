//! Listings that grow with the server (a room's members, the rooms): sorted, and cut into pages
//! whose encoded size is bounded, each saying whether more follow.

/// The most a page of a listing may take, counting each entry at its largest encoding.
pub const LIST_PAGE_BYTES: usize = 96 * 1024;
/// What a room's entry is counted at beyond its text: the punctuation and fields around it.
pub const ROOM_ENTRY_OVERHEAD_BYTES: usize = 64;
/// What a nick in a list is counted at beyond its text: quotes and a separator.
pub const NICK_ENTRY_OVERHEAD_BYTES: usize = 8;
/// How many bytes one byte of free text (a topic) may become when encoded: JSON writes a control
/// byte as `\u0001`.
pub const TEXT_EXPANSION: usize = 6;

/// The entries whose key comes after `after`, in key order, as many as fit in a page (at least one),
/// and whether more follow. `cost` is an entry's size at its largest encoding.
pub fn page<K: Ord, T>(entries: Vec<(K, T)>, after: Option<&K>, cost: impl Fn(&T) -> usize) -> (Vec<T>, bool) {
    let mut entries: Vec<(K, T)> = entries
        .into_iter()
        .filter(|(key, _)| after.is_none_or(|after| key > after))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut used = 0;
    let mut page = Vec::new();
    let total = entries.len();
    for (_, entry) in entries {
        used += cost(&entry);
        if used > LIST_PAGE_BYTES && !page.is_empty() {
            break;
        }
        page.push(entry);
    }
    let more = page.len() < total;
    (page, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_key_order_and_stop_at_the_byte_bound() {
        let per_page = LIST_PAGE_BYTES / 1000;
        let cases: &[(usize, usize, Option<usize>, usize, bool)] = &[
            // (entries, bytes each, after, page length, more)
            (0, 10, None, 0, false),
            (3, 10, None, 3, false),
            (3, 10, Some(0), 2, false),
            (3, 10, Some(2), 0, false),
            (5000, 1000, None, per_page, true),
            (5000, 1000, Some(5000 - per_page - 1), per_page, false),
            // One entry larger than a page still comes, alone.
            (2, LIST_PAGE_BYTES * 2, None, 1, true),
        ];
        for &(count, bytes, after, len, more) in cases {
            // Given in reverse, to show that pages are sorted.
            let entries = (0..count).rev().map(|k| (k, bytes)).collect();
            let (page, got_more) = page(entries, after.as_ref(), |b| *b);
            assert_eq!(
                (page.len(), got_more),
                (len, more),
                "{count} of {bytes} after {after:?}"
            );
        }
    }
}
