//! The call machine's timers: one small enum and a table of deadlines (milliseconds on the caller's clock), as
//! quinn keeps its connection timers.

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Ringing (out or in) gives up.
    Ring,
    /// The first connection attempt gives up.
    Connect,
    /// The media path has been disconnected this long: restart ICE.
    Grace,
    /// A restart has not reconnected yet: try another.
    Retry,
    /// Reconnecting gives up and the call ends.
    GiveUp,
}

const ALL: [Timer; 5] = [
    Timer::Ring,
    Timer::Connect,
    Timer::Grace,
    Timer::Retry,
    Timer::GiveUp,
];

#[derive(Debug, Default, Clone)]
pub struct Timers {
    at: [Option<u64>; ALL.len()],
}

impl Timers {
    fn slot(timer: Timer) -> usize {
        ALL.iter().position(|t| *t == timer).unwrap_or_default()
    }

    pub fn set(&mut self, timer: Timer, at: u64) {
        self.at[Self::slot(timer)] = Some(at);
    }

    /// Sets `timer` unless it is already running.
    pub fn start(&mut self, timer: Timer, at: u64) {
        let slot = &mut self.at[Self::slot(timer)];
        if slot.is_none() {
            *slot = Some(at);
        }
    }

    pub fn clear(&mut self, timer: Timer) {
        self.at[Self::slot(timer)] = None;
    }

    pub fn clear_all(&mut self) {
        self.at = Default::default();
    }

    pub fn is_set(&self, timer: Timer) -> bool {
        self.at[Self::slot(timer)].is_some()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<u64> {
        self.at.iter().flatten().min().copied()
    }

    /// The timers due at `now`, earliest first; they are cleared.
    pub fn take_due(&mut self, now: u64) -> Vec<Timer> {
        let mut due: Vec<(u64, Timer)> = ALL
            .iter()
            .filter_map(|&t| {
                self.at[Self::slot(t)]
                    .filter(|&at| at <= now)
                    .map(|at| (at, t))
            })
            .collect();
        due.sort_by_key(|(at, _)| *at);
        for (_, t) in &due {
            self.clear(*t);
        }
        due.into_iter().map(|(_, t)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_out_earliest_first_once() {
        let mut t = Timers::default();
        t.set(Timer::GiveUp, 30);
        t.set(Timer::Grace, 10);
        t.start(Timer::Grace, 5);
        assert_eq!(t.next(), Some(10), "start leaves a running timer alone");
        assert!(t.take_due(9).is_empty());
        assert_eq!(t.take_due(40), [Timer::Grace, Timer::GiveUp]);
        assert_eq!(t.next(), None);
    }
}
