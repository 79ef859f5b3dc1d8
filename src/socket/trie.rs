//! Subscription tries (libzmq src/trie.cpp and src/generic_mtrie_impl.hpp).
//!
//! [`SubTrie`] is the subscriber's side: each prefix with the number of
//! times it was subscribed, so duplicate subscriptions need as many
//! unsubscriptions. [`MTrie`] is the publisher's side: each prefix with the
//! set of pipes subscribed to it. Matching a message walks the trie along
//! the message's bytes, so its cost depends on the message's length (the
//! trie's depth), never on how many other subscriptions exist.
//!
//! Memory is proportional to the subscriptions stored: a peer that sends a
//! million subscriptions costs a million prefixes, no more.

use super::pipes::PipeIdx;

struct Node<V> {
    value: V,
    /// Children sorted by byte.
    children: Vec<(u8, Box<Node<V>>)>,
}

impl<V: Default> Node<V> {
    fn new() -> Node<V> {
        Node {
            value: V::default(),
            children: Vec::new(),
        }
    }

    fn child(&self, b: u8) -> Option<&Node<V>> {
        self.children
            .binary_search_by_key(&b, |(c, _)| *c)
            .ok()
            .map(|i| &*self.children[i].1)
    }

    fn child_mut(&mut self, b: u8) -> Option<&mut Node<V>> {
        match self.children.binary_search_by_key(&b, |(c, _)| *c) {
            Ok(i) => Some(&mut self.children[i].1),
            Err(_) => None,
        }
    }

    fn child_or_insert(&mut self, b: u8) -> &mut Node<V> {
        let i = match self.children.binary_search_by_key(&b, |(c, _)| *c) {
            Ok(i) => i,
            Err(i) => {
                self.children.insert(i, (b, Box::new(Node::new())));
                i
            }
        };
        &mut self.children[i].1
    }

    fn node_mut(&mut self, prefix: &[u8]) -> Option<&mut Node<V>> {
        let mut n = self;
        for &b in prefix {
            n = n.child_mut(b)?;
        }
        Some(n)
    }
}

/// Removes empty leaves along `prefix` (a node is empty when `empty`
/// says so and it has no children).
fn prune<V: Default>(n: &mut Node<V>, prefix: &[u8], empty: &impl Fn(&V) -> bool) {
    let Some((&b, rest)) = prefix.split_first() else {
        return;
    };
    if let Ok(i) = n.children.binary_search_by_key(&b, |(c, _)| *c) {
        prune(&mut n.children[i].1, rest, empty);
        let child = &n.children[i].1;
        if child.children.is_empty() && empty(&child.value) {
            n.children.remove(i);
        }
    }
}

/// Subscriptions of a SUB/XSUB socket, counted.
pub(crate) struct SubTrie {
    root: Node<u32>,
    prefixes: usize,
}

impl Default for SubTrie {
    fn default() -> Self {
        SubTrie {
            root: Node::new(),
            prefixes: 0,
        }
    }
}

impl SubTrie {
    /// Adds a subscription; `true` if the prefix is new.
    pub fn add(&mut self, prefix: &[u8]) -> bool {
        let mut n = &mut self.root;
        for &b in prefix {
            n = n.child_or_insert(b);
        }
        n.value += 1;
        if n.value == 1 {
            self.prefixes += 1;
        }
        n.value == 1
    }

    /// Removes one subscription; `true` if the prefix is gone entirely.
    pub fn rm(&mut self, prefix: &[u8]) -> bool {
        let Some(n) = self.root.node_mut(prefix) else {
            return false;
        };
        if n.value == 0 {
            return false;
        }
        n.value -= 1;
        if n.value > 0 {
            return false;
        }
        self.prefixes -= 1;
        prune(&mut self.root, prefix, &|v: &u32| *v == 0);
        true
    }

    /// Whether some subscription is a prefix of `data`.
    pub fn check(&self, data: &[u8]) -> bool {
        let mut n = &self.root;
        if n.value > 0 {
            return true;
        }
        for &b in data {
            match n.child(b) {
                Some(c) => n = c,
                None => return false,
            }
            if n.value > 0 {
                return true;
            }
        }
        false
    }

    /// Calls `f` once for every subscribed prefix.
    pub fn apply(&self, mut f: impl FnMut(&[u8])) {
        fn walk(n: &Node<u32>, buf: &mut Vec<u8>, f: &mut impl FnMut(&[u8])) {
            if n.value > 0 {
                f(buf);
            }
            for (b, c) in &n.children {
                buf.push(*b);
                walk(c, buf, f);
                buf.pop();
            }
        }
        walk(&self.root, &mut Vec::new(), &mut f);
    }

    /// Number of distinct prefixes (ZMQ_TOPICS_COUNT).
    pub fn num_prefixes(&self) -> usize {
        self.prefixes
    }
}

/// What removing a pipe's subscription did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RmResult {
    /// The pipe was not subscribed to that prefix.
    NotFound,
    /// It was the last pipe subscribed to the prefix.
    LastValueRemoved,
    /// Other pipes remain subscribed.
    ValuesRemain,
}

/// Subscriptions of an XPUB/PUB socket, by pipe.
pub(crate) struct MTrie {
    root: Node<Vec<PipeIdx>>,
    prefixes: usize,
}

impl Default for MTrie {
    fn default() -> Self {
        MTrie {
            root: Node::new(),
            prefixes: 0,
        }
    }
}

impl MTrie {
    /// Subscribes a pipe; `true` if no pipe had this prefix before.
    pub fn add(&mut self, prefix: &[u8], pipe: PipeIdx) -> bool {
        let mut n = &mut self.root;
        for &b in prefix {
            n = n.child_or_insert(b);
        }
        let first = n.value.is_empty();
        if first {
            self.prefixes += 1;
        }
        if !n.value.contains(&pipe) {
            n.value.push(pipe);
        }
        first
    }

    /// Unsubscribes a pipe from a prefix.
    pub fn rm(&mut self, prefix: &[u8], pipe: PipeIdx) -> RmResult {
        let Some(n) = self.root.node_mut(prefix) else {
            return RmResult::NotFound;
        };
        let Some(pos) = n.value.iter().position(|&p| p == pipe) else {
            return RmResult::NotFound;
        };
        n.value.swap_remove(pos);
        if !n.value.is_empty() {
            return RmResult::ValuesRemain;
        }
        self.prefixes -= 1;
        prune(&mut self.root, prefix, &|v: &Vec<PipeIdx>| v.is_empty());
        RmResult::LastValueRemoved
    }

    /// Removes a pipe from every prefix. `f(prefix)` is called for each of
    /// its prefixes, or with `call_on_uniq` only for those no pipe keeps.
    pub fn rm_pipe(&mut self, pipe: PipeIdx, call_on_uniq: bool, mut f: impl FnMut(&[u8])) {
        fn walk(
            n: &mut Node<Vec<PipeIdx>>,
            pipe: PipeIdx,
            uniq: bool,
            buf: &mut Vec<u8>,
            removed: &mut usize,
            f: &mut impl FnMut(&[u8]),
        ) {
            if let Some(pos) = n.value.iter().position(|&p| p == pipe) {
                n.value.swap_remove(pos);
                if !uniq || n.value.is_empty() {
                    f(buf);
                }
                if n.value.is_empty() {
                    *removed += 1;
                }
            }
            for (b, c) in n.children.iter_mut() {
                buf.push(*b);
                walk(c, pipe, uniq, buf, removed, f);
                buf.pop();
            }
            n.children
                .retain(|(_, c)| !(c.children.is_empty() && c.value.is_empty()));
        }
        let mut removed = 0;
        walk(
            &mut self.root,
            pipe,
            call_on_uniq,
            &mut Vec::new(),
            &mut removed,
            &mut f,
        );
        self.prefixes -= removed;
    }

    /// Calls `f` for every pipe subscribed to a prefix of `data` (a pipe
    /// may come more than once; the caller's match is idempotent).
    pub fn match_each(&self, data: &[u8], mut f: impl FnMut(PipeIdx)) {
        let mut n = &self.root;
        n.value.iter().for_each(|&p| f(p));
        for &b in data {
            match n.child(b) {
                Some(c) => n = c,
                None => return,
            }
            n.value.iter().for_each(|&p| f(p));
        }
    }

    /// Number of distinct prefixes (ZMQ_TOPICS_COUNT).
    pub fn num_prefixes(&self) -> usize {
        self.prefixes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_trie_counts_duplicates() {
        let mut t = SubTrie::default();
        assert!(t.add(b"ab"));
        assert!(!t.add(b"ab"));
        assert!(t.check(b"abc"));
        assert!(!t.check(b"a"));
        assert!(!t.rm(b"ab"));
        assert!(t.check(b"ab"));
        assert!(t.rm(b"ab"));
        assert!(!t.check(b"abc"));
        assert!(!t.rm(b"ab"));
        assert!(!t.rm(b"never"));
        assert_eq!(t.num_prefixes(), 0);
        t.add(b"");
        assert!(t.check(b"anything"));
        let mut all = Vec::new();
        t.add(b"x");
        t.apply(|p| all.push(p.to_vec()));
        assert_eq!(all, vec![b"".to_vec(), b"x".to_vec()]);
    }

    #[test]
    fn mtrie_matches_by_prefix() {
        let mut t = MTrie::default();
        assert!(t.add(b"news", 1));
        assert!(!t.add(b"news", 2));
        assert!(t.add(b"", 3));
        let mut got = Vec::new();
        t.match_each(b"news.sport", |p| got.push(p));
        got.sort();
        assert_eq!(got, vec![1, 2, 3]);
        assert_eq!(t.rm(b"news", 1), RmResult::ValuesRemain);
        assert_eq!(t.rm(b"news", 1), RmResult::NotFound);
        assert_eq!(t.rm(b"news", 2), RmResult::LastValueRemoved);
        let mut gone = Vec::new();
        t.add(b"a", 3);
        t.rm_pipe(3, true, |p| gone.push(p.to_vec()));
        gone.sort();
        assert_eq!(gone, vec![b"".to_vec(), b"a".to_vec()]);
        assert_eq!(t.num_prefixes(), 0);
    }

    #[test]
    fn many_subscriptions_stay_cheap() {
        let mut t = MTrie::default();
        for i in 0..100_000u32 {
            t.add(format!("topic-{i}").as_bytes(), 1);
        }
        assert_eq!(t.num_prefixes(), 100_000);
        let mut n = 0;
        t.match_each(b"other", |_| n += 1);
        assert_eq!(n, 0);
    }
}
