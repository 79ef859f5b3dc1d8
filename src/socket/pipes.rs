//! The pipes a socket owns, in a slab: socket patterns refer to a pipe by
//! its slot index ([`PipeIdx`]); commands from the peer end arrive with a
//! key (slot index plus generation) that the socket handed to the pipe's link
//! when it attached the pipe.
//!
//! Owned by the socket's current owner thread (user thread, then reaper).

use crate::pipe::Pipe;

/// Index of a pipe in its socket's slab.
pub(crate) type PipeIdx = usize;

struct Slot {
    gen: u32,
    pipe: Option<Pipe>,
}

/// A slab of pipe ends.
#[derive(Default)]
pub(crate) struct Pipes {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
}

impl Pipes {
    /// Stores a pipe; returns its index and the command key for it.
    pub fn insert(&mut self, pipe: Pipe) -> (PipeIdx, u64) {
        self.live += 1;
        let idx = match self.free.pop() {
            Some(i) => {
                let slot = &mut self.slots[i];
                slot.gen = slot.gen.wrapping_add(1);
                slot.pipe = Some(pipe);
                i
            }
            None => {
                if self.slots.capacity() == 0 {
                    // Most sockets have one pipe: room for four (a Vec's
                    // first growth) would idle 960 bytes in each.
                    self.slots.reserve_exact(1);
                }
                self.slots.push(Slot {
                    gen: 0,
                    pipe: Some(pipe),
                });
                self.slots.len() - 1
            }
        };
        (idx, (u64::from(self.slots[idx].gen) << 32) | idx as u64)
    }

    /// The live pipe a command key refers to, if it is still there.
    pub fn by_key(&self, key: u64) -> Option<PipeIdx> {
        let idx = (key & 0xFFFF_FFFF) as usize;
        let gen = (key >> 32) as u32;
        match self.slots.get(idx) {
            Some(s) if s.gen == gen && s.pipe.is_some() => Some(idx),
            _ => None,
        }
    }

    /// Whether `idx` holds a live pipe.
    pub fn by_idx_live(&self, idx: PipeIdx) -> bool {
        self.slots.get(idx).is_some_and(|s| s.pipe.is_some())
    }

    /// The pipe at `idx`. Patterns only keep indices of live pipes (they
    /// forget one in `pipe_terminated`), so a miss is a bug in this crate.
    #[inline]
    pub fn get(&mut self, idx: PipeIdx) -> &mut Pipe {
        self.slots[idx]
            .pipe
            .as_mut()
            .expect("socket pattern referred to a removed pipe")
    }

    /// The pipe at `idx`, read-only.
    #[inline]
    pub fn peek(&self, idx: PipeIdx) -> &Pipe {
        self.slots[idx]
            .pipe
            .as_ref()
            .expect("socket pattern referred to a removed pipe")
    }

    /// Removes the pipe at `idx`.
    pub fn remove(&mut self, idx: PipeIdx) -> Option<Pipe> {
        let p = self.slots.get_mut(idx)?.pipe.take();
        if p.is_some() {
            self.live -= 1;
            self.free.push(idx);
        }
        p
    }

    /// Number of live pipes.
    pub fn len(&self) -> usize {
        self.live
    }

    /// One past the highest index a live pipe can have.
    pub fn index_bound(&self) -> usize {
        self.slots.len()
    }

    /// Indices of all live pipes.
    pub fn indices(&self) -> Vec<PipeIdx> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].pipe.is_some())
            .collect()
    }
}

/// An ordered set of pipes whose first `active` entries are the active ones,
/// with O(1) lookup of a pipe's position (libzmq's array_t with its
/// "active prefix" convention, shared by load-balancing, fair-queueing and
/// distribution).
#[derive(Default)]
pub(crate) struct ActiveSet {
    items: Vec<PipeIdx>,
    pos: Vec<usize>,
    pub active: usize,
}

const ABSENT: usize = usize::MAX;

impl ActiveSet {
    /// Number of pipes in the set.
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The pipe at position `i`.
    #[inline]
    pub fn at(&self, i: usize) -> PipeIdx {
        self.items[i]
    }

    /// Whether the pipe is in the set.
    pub fn contains(&self, p: PipeIdx) -> bool {
        self.pos.get(p).is_some_and(|&x| x != ABSENT)
    }

    /// Position of the pipe in the set.
    #[inline]
    pub fn index(&self, p: PipeIdx) -> usize {
        self.pos[p]
    }

    /// Appends a pipe (inactive position).
    pub fn push(&mut self, p: PipeIdx) {
        if self.pos.len() <= p {
            self.pos.resize(p + 1, ABSENT);
        }
        self.pos[p] = self.items.len();
        self.items.push(p);
    }

    /// Swaps two positions.
    #[inline]
    pub fn swap(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        self.items.swap(i, j);
        self.pos[self.items[i]] = i;
        self.pos[self.items[j]] = j;
    }

    /// Removes a pipe (order of the rest is kept apart from a swap with the last).
    pub fn erase(&mut self, p: PipeIdx) {
        let i = self.pos[p];
        let last = self.items.len() - 1;
        self.swap(i, last);
        self.items.pop();
        self.pos[p] = ABSENT;
    }
}
