//! Subscription tries (libzmq src/trie.cpp and src/generic_mtrie_impl.hpp).
//!
//! [`SubTrie`] is the subscriber's side: each prefix with the number of
//! times it was subscribed, so duplicate subscriptions need as many
//! unsubscriptions. [`MTrie`] is the publisher's side: each prefix with the
//! set of pipes subscribed to it. Matching a message walks the trie along
//! the message's bytes, so its cost depends on the message's length (the
//! trie's depth), never on how many other subscriptions exist.
//!
//! The trie is path-compressed (a radix tree): a node's edge holds every
//! byte up to the next branch or stored prefix, so memory follows the bytes
//! subscribed plus a node per branch, not a node per byte, and a peer's long
//! topics cost what they weigh. Every walk is a loop, never recursion: a
//! hostile peer can make the tree as deep as its topics are long.

use super::pipes::PipeIdx;

struct Node<V> {
    /// The bytes between the parent and this node (empty only at the root).
    edge: Box<[u8]>,
    value: V,
    /// Children sorted by the first byte of their edge.
    children: Vec<Node<V>>,
    /// How the matching walk finds a child without loading every
    /// candidate's edge from the heap (what made a message's match slower
    /// as subscriptions grew). Either the first byte of each child's edge,
    /// in order (as long as `children`), or for many densely spread
    /// children a lookup table: the lowest first byte, then for each byte
    /// from it the child's index + 1 (0: none). A table is longer than
    /// `children` and never more than four bytes per child, so a peer's
    /// subscriptions cannot make it outweigh them. One boxed slice keeps
    /// a leaf's share at 16 bytes and no allocation.
    index: Box<[u8]>,
}

impl<V> Drop for Node<V> {
    fn drop(&mut self) {
        // Dismantle the subtree with a stack: a derived drop would recurse
        // once per level.
        let mut stack = std::mem::take(&mut self.children);
        while let Some(mut n) = stack.pop() {
            stack.append(&mut n.children);
        }
    }
}

/// A stored value that may be empty (no subscription left at that prefix).
trait Slot: Default {
    fn is_empty(&self) -> bool;
}

impl Slot for u32 {
    fn is_empty(&self) -> bool {
        *self == 0
    }
}

impl Slot for Vec<PipeIdx> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

/// `data` without its leading `edge`, if it starts with it. Edges are a few
/// bytes long: a plain loop beats a call to memcmp on the matching path.
#[inline]
fn strip_edge<'a>(data: &'a [u8], edge: &[u8]) -> Option<&'a [u8]> {
    if data.len() < edge.len() {
        return None;
    }
    let (head, rest) = data.split_at(edge.len());
    let mut differ = 0u8;
    for (a, b) in head.iter().zip(edge) {
        differ |= a ^ b;
    }
    (differ == 0).then_some(rest)
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl<V: Slot> Node<V> {
    fn new(edge: &[u8]) -> Node<V> {
        Node {
            edge: edge.into(),
            value: V::default(),
            children: Vec::new(),
            index: Box::default(),
        }
    }

    fn child_index(&self, b: u8) -> Result<usize, usize> {
        self.children.binary_search_by_key(&b, |c| c.edge[0])
    }

    /// The child whose edge starts with `b`, for the matching walk: most
    /// nodes have a handful of children, and scanning their first bytes
    /// is several times faster than a binary search.
    #[inline]
    fn find_child(&self, b: u8) -> Option<&Node<V>> {
        let index = &self.index[..];
        if index.len() > self.children.len() {
            let (min, table) = (index[0], &index[1..]);
            return match table.get(b.wrapping_sub(min) as usize) {
                Some(&i) if i != 0 => self.children.get(i as usize - 1),
                _ => None,
            };
        }
        let keys = index;
        if keys.len() <= 16 {
            keys.iter().position(|&k| k == b).map(|i| &self.children[i])
        } else {
            keys.binary_search(&b).ok().map(|i| &self.children[i])
        }
    }

    /// Rebuilds `index` after the set of children changed.
    fn index_children(&mut self) {
        let keys: Vec<u8> = self.children.iter().map(|c| c.edge[0]).collect();
        let (Some(&lo), Some(&hi)) = (keys.first(), keys.last()) else {
            self.index = Box::default();
            return;
        };
        let n = keys.len();
        let range = usize::from(hi - lo) + 1;
        if !(4..=255).contains(&n) || range > 4 * n {
            self.index = keys.into();
            return;
        }
        let mut table = vec![0u8; 1 + range];
        table[0] = lo;
        for (i, &k) in keys.iter().enumerate() {
            table[1 + usize::from(k - lo)] = i as u8 + 1;
        }
        self.index = table.into();
    }

    /// The value at exactly `key`, created (with the nodes leading to it) if
    /// missing.
    fn entry(&mut self, mut key: &[u8]) -> &mut V {
        let mut n = self;
        loop {
            let Some(&first) = key.first() else {
                return &mut n.value;
            };
            let i = match n.child_index(first) {
                Ok(i) => i,
                Err(i) => {
                    // Exact growth: a node's children are never many, and
                    // doubling would leave most subscriptions' nodes with
                    // slack (the trie's memory must follow what it holds).
                    n.children.reserve_exact(1);
                    n.children.insert(i, Node::new(key));
                    n.index_children();
                    return &mut n.children[i].value;
                }
            };
            let l = common_prefix(&n.children[i].edge, key);
            if l < n.children[i].edge.len() {
                // Split the edge: a new node for the shared part, the old
                // child below it with the rest of its edge.
                let mut old = std::mem::replace(&mut n.children[i], Node::new(&key[..l]));
                old.edge = old.edge[l..].into();
                n.children[i].children.reserve_exact(1);
                n.children[i].children.push(old);
                n.children[i].index_children();
            }
            key = &key[l..];
            n = &mut n.children[i];
        }
    }

    /// The value at exactly `key`, if that node exists.
    fn find_mut(&mut self, mut key: &[u8]) -> Option<&mut V> {
        let mut n = self;
        while let Some(&first) = key.first() {
            let i = n.child_index(first).ok()?;
            let c = &mut n.children[i];
            key = key.strip_prefix(&*c.edge)?;
            n = c;
        }
        Some(&mut n.value)
    }

    /// Calls `f` with the value of every node whose prefix is a prefix of
    /// `data`, shortest first; stops early when `f` returns true.
    fn walk_prefixes(&self, mut data: &[u8], mut f: impl FnMut(&V) -> bool) {
        let mut n = self;
        loop {
            if f(&n.value) {
                return;
            }
            let Some(&first) = data.first() else {
                return;
            };
            let Some(c) = n.find_child(first) else {
                return;
            };
            match strip_edge(data, &c.edge) {
                Some(rest) => data = rest,
                None => return,
            }
            n = c;
        }
    }

    /// Calls `f(prefix, value)` for every node, in byte order.
    fn for_each(&self, mut f: impl FnMut(&[u8], &V)) {
        let mut buf = Vec::new();
        // (node, length of buf before this node's edge)
        let mut stack: Vec<(&Node<V>, usize)> = vec![(self, 0)];
        while let Some((n, at)) = stack.pop() {
            buf.truncate(at);
            buf.extend_from_slice(&n.edge);
            f(&buf, &n.value);
            let len = buf.len();
            stack.extend(n.children.iter().rev().map(|c| (c, len)));
        }
    }

    /// After the value at `key` became empty: removes its node if it is a
    /// leaf, and merges the nodes left with a single child and no value.
    /// Only the node and its parent can change.
    fn prune(&mut self, key: &[u8]) {
        // The indices leading to the node.
        let mut path = Vec::new();
        {
            let mut n: &Node<V> = self;
            let mut k = key;
            while let Some(&first) = k.first() {
                let Ok(i) = n.child_index(first) else {
                    return;
                };
                let c = &n.children[i];
                let Some(rest) = k.strip_prefix(&*c.edge) else {
                    return;
                };
                path.push(i);
                k = rest;
                n = c;
            }
        }
        let Some((&last, upper)) = path.split_last() else {
            return; // the root stays, whatever it holds
        };
        let mut parent = &mut *self;
        for &i in upper {
            parent = &mut parent.children[i];
        }
        let is_root = upper.is_empty();
        let node = &mut parent.children[last];
        if !node.value.is_empty() {
            return;
        }
        match node.children.len() {
            0 => {
                parent.children.remove(last);
                parent.children.shrink_to_fit();
                parent.index_children();
                if !is_root && parent.value.is_empty() && parent.children.len() == 1 {
                    merge_with_child(parent);
                }
            }
            1 => merge_with_child(node),
            _ => {}
        }
    }
}

/// Joins a valueless node with its only child.
fn merge_with_child<V: Slot>(n: &mut Node<V>) {
    let Some(mut child) = n.children.pop() else {
        return;
    };
    let mut edge = Vec::with_capacity(n.edge.len() + child.edge.len());
    edge.extend_from_slice(&n.edge);
    edge.extend_from_slice(&child.edge);
    n.edge = edge.into();
    n.value = std::mem::take(&mut child.value);
    n.children = std::mem::take(&mut child.children);
    n.index = std::mem::take(&mut child.index);
}

/// Subscriptions of a SUB/XSUB socket, counted.
pub(crate) struct SubTrie {
    root: Node<u32>,
    prefixes: usize,
}

impl Default for SubTrie {
    fn default() -> Self {
        SubTrie {
            root: Node::new(b""),
            prefixes: 0,
        }
    }
}

impl SubTrie {
    /// Adds a subscription; `true` if the prefix is new.
    pub fn add(&mut self, prefix: &[u8]) -> bool {
        let v = self.root.entry(prefix);
        *v = v.saturating_add(1);
        if *v == 1 {
            self.prefixes += 1;
        }
        *v == 1
    }

    /// Removes one subscription; `true` if the prefix is gone entirely.
    pub fn rm(&mut self, prefix: &[u8]) -> bool {
        let Some(v) = self.root.find_mut(prefix) else {
            return false;
        };
        if *v == 0 {
            return false;
        }
        *v -= 1;
        if *v > 0 {
            return false;
        }
        self.prefixes -= 1;
        self.root.prune(prefix);
        true
    }

    /// Whether some subscription is a prefix of `data`.
    pub fn check(&self, data: &[u8]) -> bool {
        let mut found = false;
        self.root.walk_prefixes(data, |v| {
            found = *v > 0;
            found
        });
        found
    }

    /// Calls `f` once for every subscribed prefix.
    pub fn apply(&self, mut f: impl FnMut(&[u8])) {
        self.root.for_each(|p, v| {
            if *v > 0 {
                f(p)
            }
        });
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
            root: Node::new(b""),
            prefixes: 0,
        }
    }
}

impl MTrie {
    /// Subscribes a pipe; `true` if no pipe had this prefix before.
    pub fn add(&mut self, prefix: &[u8], pipe: PipeIdx) -> bool {
        let v = self.root.entry(prefix);
        let first = v.is_empty();
        if first {
            self.prefixes += 1;
        }
        if !v.contains(&pipe) {
            v.push(pipe);
        }
        first
    }

    /// Unsubscribes a pipe from a prefix.
    pub fn rm(&mut self, prefix: &[u8], pipe: PipeIdx) -> RmResult {
        let Some(v) = self.root.find_mut(prefix) else {
            return RmResult::NotFound;
        };
        let Some(pos) = v.iter().position(|&p| p == pipe) else {
            return RmResult::NotFound;
        };
        v.swap_remove(pos);
        if !v.is_empty() {
            return RmResult::ValuesRemain;
        }
        v.shrink_to_fit();
        self.prefixes -= 1;
        self.root.prune(prefix);
        RmResult::LastValueRemoved
    }

    /// Removes a pipe from every prefix. `f(prefix)` is called for each of
    /// its prefixes, or with `call_on_uniq` only for those no pipe keeps.
    pub fn rm_pipe(&mut self, pipe: PipeIdx, call_on_uniq: bool, mut f: impl FnMut(&[u8])) {
        let mut mine = Vec::new();
        self.root.for_each(|p, v| {
            if v.contains(&pipe) {
                mine.push(p.to_vec());
            }
        });
        for prefix in mine {
            let r = self.rm(&prefix, pipe);
            if !call_on_uniq || r == RmResult::LastValueRemoved {
                f(&prefix);
            }
        }
    }

    /// Calls `f` for every pipe subscribed to a prefix of `data` (a pipe
    /// may come more than once; the caller's match is idempotent).
    pub fn match_each(&self, data: &[u8], mut f: impl FnMut(PipeIdx)) {
        self.root.walk_prefixes(data, |v| {
            v.iter().for_each(|&p| f(p));
            false
        });
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

    /// Every node's index finds each of its children, and stays small.
    fn assert_keys<V: Slot>(root: &Node<V>) {
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            let firsts: Vec<u8> = n.children.iter().map(|c| c.edge[0]).collect();
            for (i, &k) in firsts.iter().enumerate() {
                assert!(std::ptr::eq(n.find_child(k).unwrap(), &n.children[i]));
            }
            assert!(n.index.len() <= 1 + 4 * n.children.len());
            if n.index.len() <= n.children.len() {
                assert_eq!(&n.index[..], &firsts[..]);
            }
            assert!(firsts.windows(2).all(|w| w[0] < w[1]));
            stack.extend(n.children.iter());
        }
    }

    #[test]
    fn matches_a_naive_model_under_random_edits() {
        // A small xorshift keeps the sequence reproducible without a crate.
        let mut x: u32 = 0x9e37_79b9;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        // Dense letters (indexed nodes) and far-apart ones (searched nodes).
        const ALPHABET: &[u8] = b"abcdef\x00\xff";
        let mut t = SubTrie::default();
        let mut model: std::collections::BTreeMap<Vec<u8>, u32> = Default::default();
        for _ in 0..20000 {
            let len = (next() % 5) as usize;
            let key: Vec<u8> = (0..len)
                .map(|_| ALPHABET[next() as usize % ALPHABET.len()])
                .collect();
            if next() % 3 == 0 {
                let had = model.get(&key).copied().unwrap_or(0);
                assert_eq!(t.rm(&key), had == 1, "{key:?}");
                if had > 1 {
                    model.insert(key, had - 1);
                } else {
                    model.remove(&key);
                }
            } else {
                let c = model.entry(key.clone()).or_insert(0);
                *c += 1;
                assert_eq!(t.add(&key), *c == 1);
            }
            assert_keys(&t.root);
            let probe: Vec<u8> = (0..6)
                .map(|_| ALPHABET[next() as usize % ALPHABET.len()])
                .collect();
            let want = model.keys().any(|k| probe.starts_with(k));
            assert_eq!(t.check(&probe), want, "{probe:?}");
        }
        assert_eq!(t.num_prefixes(), model.len());
    }

    #[test]
    fn edges_split_and_merge() {
        let mut t = SubTrie::default();
        t.add(b"abcdef");
        t.add(b"abcxyz");
        t.add(b"abc");
        t.add(b"b");
        let mut all = Vec::new();
        t.apply(|p| all.push(p.to_vec()));
        assert_eq!(
            all,
            vec![
                b"abc".to_vec(),
                b"abcdef".to_vec(),
                b"abcxyz".to_vec(),
                b"b".to_vec()
            ]
        );
        assert!(t.check(b"abcd"));
        assert!(!t.check(b"ab"));
        assert!(!t.check(b"abxdef"));
        assert!(t.rm(b"abc"));
        assert!(!t.check(b"abcd"));
        assert!(t.check(b"abcdefg"));
        assert!(t.rm(b"abcdef"));
        assert!(t.rm(b"abcxyz"));
        assert!(t.rm(b"b"));
        assert!(t.root.children.is_empty());
        // A removed middle prefix leaves the branch merged into one edge.
        t.add(b"one-two");
        t.add(b"one");
        t.add(b"one-two-three");
        t.rm(b"one-two");
        assert_eq!(t.root.children.len(), 1);
        assert_eq!(&*t.root.children[0].edge, b"one");
        assert_eq!(&*t.root.children[0].children[0].edge, b"-two-three");
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
        assert!(t.root.children.is_empty());
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
        // topic-9, topic-99, ... topic-99999 are all prefixes of it.
        t.match_each(b"topic-99999.x", |_| n += 1);
        assert_eq!(n, 5);
    }

    #[test]
    fn deep_tries_need_no_deep_stack() {
        // Every prefix of a long topic: a chain as deep as the topic is long.
        let topic = vec![b'a'; 50_000];
        let mut t = SubTrie::default();
        for l in (1..=topic.len()).step_by(7) {
            t.add(&topic[..l]);
        }
        assert!(t.check(&topic));
        let mut n = 0;
        t.apply(|_| n += 1);
        assert_eq!(n, t.num_prefixes());
        let mut m = MTrie::default();
        for l in (1..=topic.len()).step_by(7) {
            m.add(&topic[..l], 1);
        }
        m.rm_pipe(1, true, |_| {});
        assert_eq!(m.num_prefixes(), 0);
        drop(t);
    }
}
