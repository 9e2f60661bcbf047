//! What the driver itself spends per request: the time-stamp counter
//! read around each handler — a `Submit`, an interrupt, a `Reap`, each
//! with the system calls it makes (the grant copies, `irq_ack`, the
//! signal to `blk`) but not the IPC that brings the call or its reply —
//! summed over a window of finished requests and reported as averages.
//! Under `-icount shift=0` the counter counts instructions, so the
//! report is the driver's instructions per request, which the bench's
//! `blk_read_4k_vda` (dominated there by the idle wait for the device)
//! cannot show.

/// Finished requests per report.
pub const WINDOW: u64 = 256;

/// Which handler ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    Submit,
    Interrupt,
    Reap,
}

/// Per-request averages over one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    pub requests: u64,
    pub submit: u64,
    pub interrupt: u64,
    pub reap: u64,
}

impl Report {
    /// The three together.
    pub fn total(&self) -> u64 {
        self.submit + self.interrupt + self.reap
    }
}

/// The sums of the current window.
#[derive(Clone, Debug, Default)]
pub struct Cost {
    ticks: [u64; 3],
    finished: u64,
}

impl Cost {
    /// `ticks` spent in `handler` (a counter that went backwards counts 0).
    pub fn add(&mut self, handler: Handler, ticks: u64) {
        let i = match handler {
            Handler::Submit => 0,
            Handler::Interrupt => 1,
            Handler::Reap => 2,
        };
        self.ticks[i] = self.ticks[i].saturating_add(ticks);
    }

    /// `n` more requests finished: the window's report once it holds
    /// [`WINDOW`] of them (and a new window begins).
    pub fn finished(&mut self, n: u64) -> Option<Report> {
        self.finished += n;
        if self.finished < WINDOW {
            return None;
        }
        let requests = self.finished;
        let report = Report {
            requests,
            submit: self.ticks[0] / requests,
            interrupt: self.ticks[1] / requests,
            reap: self.ticks[2] / requests,
        };
        *self = Cost::default();
        Some(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_window_reports_averages_and_starts_over() {
        let mut c = Cost::default();
        for _ in 0..WINDOW {
            c.add(Handler::Submit, 3000);
            c.add(Handler::Interrupt, 1000);
        }
        c.add(Handler::Reap, 2000 * WINDOW);
        assert_eq!(c.finished(WINDOW - 1), None);
        let r = c.finished(1).unwrap();
        assert_eq!(
            (r.requests, r.submit, r.interrupt, r.reap),
            (WINDOW, 3000, 1000, 2000)
        );
        assert_eq!(r.total(), 6000);
        assert_eq!(c.finished(WINDOW - 1), None, "a new window");
    }

    #[test]
    fn a_window_that_overflows_divides_by_what_it_holds() {
        let mut c = Cost::default();
        c.add(Handler::Reap, 10 * (WINDOW + 4));
        let r = c.finished(WINDOW + 4).unwrap();
        assert_eq!((r.requests, r.reap), (WINDOW + 4, 10));
    }
}
