//! Wording shared by messages and notices.

use std::fmt::Display;

/// The first `shown` of `items` joined with `, `, then ` and N more` when
/// there are `total` items and that is more: `a, b, c and 4 more`.
pub fn first_of<T: Display>(
    items: impl IntoIterator<Item = T>,
    total: usize,
    shown: usize,
) -> String {
    let mut s = items
        .into_iter()
        .take(shown)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if total > shown {
        s.push_str(&format!(" and {} more", total - shown));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::first_of;

    #[test]
    fn first_few_and_a_count() {
        assert_eq!(first_of(["a", "b"], 2, 3), "a, b");
        assert_eq!(first_of(["a", "b", "c", "d"], 4, 2), "a, b and 2 more");
        assert_eq!(first_of(Vec::<&str>::new(), 0, 2), "");
    }
}
