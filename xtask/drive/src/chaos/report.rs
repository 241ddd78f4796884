//! The chaos report: per fault, what was sent and what became of it; rendered as a table for
//! the terminal and the README, and as JSON.

use serde::Serialize;

/// The outcome of one fault's phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FaultReport {
    /// Short name, e.g. `kafka-broker`.
    pub fault: String,
    /// What was done, in words.
    pub description: String,
    /// REST writes issued.
    pub attempted: u64,
    /// Writes the API acknowledged (2xx).
    pub acknowledged: u64,
    /// Writes without an answer or with an error, decided afterwards from the source
    /// database: `unknown_happened` of them had happened.
    pub unknown: u64,
    pub unknown_happened: u64,
    /// Entities written in this phase.
    pub entities: usize,
    /// Entities whose planning state or applied-event count is behind the source.
    pub lost: usize,
    /// Entities whose applied-event count exceeds the events published for them.
    pub duplicated: usize,
    /// Unknown writes whose source state matched neither the write nor the state before.
    pub unexplained: usize,
    /// Poison messages injected in this phase.
    pub poison_injected: usize,
    /// Poison messages found in a dead-letter topic exactly once with the right headers.
    pub poison_dead_lettered: usize,
    /// Dead letters that are not this phase's poison (or a poison letter twice).
    pub unexpected_dead_letters: usize,
    /// Seconds from the kill to the component being ready again.
    pub recovery_seconds: f64,
    /// Seconds from recovery until planning matched every entity of the phase; `None` when
    /// it did not within the timeout.
    pub converge_seconds: Option<f64>,
    /// Seconds from the restart (the end of the hold; the injection for poison) until
    /// planning matched: the catch-up including the component's own start.
    pub restart_to_converged_seconds: Option<f64>,
    pub reconcile_clean: bool,
    pub reconcile_summary: String,
    /// Anything worth knowing about this phase (first lost ids, failures of the harness).
    pub notes: Vec<String>,
}

impl FaultReport {
    /// Events published in the phase: each write that happened publishes exactly one.
    pub fn events_sent(&self) -> u64 {
        self.acknowledged + self.unknown_happened
    }

    pub fn dead_lettered(&self) -> usize {
        self.poison_dead_lettered + self.unexpected_dead_letters
    }

    pub fn passed(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.unexplained == 0
            && self.unexpected_dead_letters == 0
            && self.poison_dead_lettered == self.poison_injected
            && self.converge_seconds.is_some()
            && self.reconcile_clean
    }
}

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChaosReport {
    pub mode: String,
    pub seed: u64,
    pub events_requested: u64,
    pub rate_per_second: f64,
    pub down_seconds: f64,
    /// How long each freeze lasted (SIGSTOP to SIGCONT).
    pub freeze_seconds: f64,
    pub started_at: String,
    pub duration_seconds: f64,
    pub faults: Vec<FaultReport>,
    /// Harness failures outside any phase (setup, restore).
    pub errors: Vec<String>,
    /// Conditions found before the run and excluded from its verdict (pre-existing drift).
    pub preexisting: Vec<String>,
}

impl ChaosReport {
    pub fn passed(&self) -> bool {
        self.errors.is_empty()
            && !self.faults.is_empty()
            && self.faults.iter().all(FaultReport::passed)
    }

    pub fn total_events(&self) -> u64 {
        self.faults.iter().map(FaultReport::events_sent).sum()
    }

    /// A Markdown table, one row per fault, and a verdict line.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "Chaos run ({} mode, seed {}, {} events requested at {}/s, faults held {} s, \
             freezes {} s), started {}, took {:.0} s.\n\n",
            self.mode,
            self.seed,
            self.events_requested,
            self.rate_per_second,
            self.down_seconds,
            self.freeze_seconds,
            self.started_at,
            self.duration_seconds
        );
        out.push_str(
            "| fault | events sent | acked / unknown→happened | lost | duplicated | dead-lettered (poison / other) | kill → ready | converged after restart / after ready | reconcile | result |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---|---|\n",
        );
        for fault in &self.faults {
            out.push_str(&format!(
                "| {} | {} | {} / {}→{} | {} | {} | {} ({} of {} / {}) | {:.1} s | {} / {} | {} | {} |\n",
                fault.fault,
                fault.events_sent(),
                fault.acknowledged,
                fault.unknown,
                fault.unknown_happened,
                fault.lost,
                fault.duplicated,
                fault.dead_lettered(),
                fault.poison_dead_lettered,
                fault.poison_injected,
                fault.unexpected_dead_letters,
                fault.recovery_seconds,
                seconds(fault.restart_to_converged_seconds),
                seconds(fault.converge_seconds),
                if fault.reconcile_clean { "clean" } else { "drift" },
                if fault.passed() { "pass" } else { "FAIL" },
            ));
        }
        out.push_str(&format!(
            "\n{} events in total; {}.\n",
            self.total_events(),
            if self.passed() {
                "0 lost, 0 duplicated, only the injected poison dead-lettered, reconcile clean: PASS"
            } else {
                "FAIL"
            }
        ));
        let notes: Vec<String> = self
            .faults
            .iter()
            .flat_map(|f| f.notes.iter().map(move |n| format!("- {}: {n}", f.fault)))
            .chain(self.errors.iter().map(|e| format!("- harness: {e}")))
            .chain(
                self.preexisting
                    .iter()
                    .map(|e| format!("- before the run: {e}")),
            )
            .collect();
        if !notes.is_empty() {
            out.push_str("\nNotes:\n\n");
            for note in notes {
                out.push_str(&note);
                out.push('\n');
            }
        }
        out.push_str("\nFaults:\n\n");
        for fault in &self.faults {
            out.push_str(&format!("- `{}`: {}\n", fault.fault, fault.description));
        }
        out
    }
}

fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "never".to_string(), |s| format!("{s:.1} s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(fault: &str) -> FaultReport {
        FaultReport {
            fault: fault.into(),
            attempted: 60,
            acknowledged: 55,
            unknown: 5,
            unknown_happened: 2,
            entities: 20,
            converge_seconds: Some(3.5),
            reconcile_clean: true,
            ..Default::default()
        }
    }

    #[test]
    fn events_sent_are_acknowledged_plus_unknown_writes_that_happened() {
        assert_eq!(clean("a").events_sent(), 57);
    }

    #[test]
    fn any_loss_duplicate_drift_or_stray_dead_letter_fails_the_fault() {
        assert!(clean("a").passed());
        for broken in [
            FaultReport {
                lost: 1,
                ..clean("a")
            },
            FaultReport {
                duplicated: 1,
                ..clean("a")
            },
            FaultReport {
                unexplained: 1,
                ..clean("a")
            },
            FaultReport {
                unexpected_dead_letters: 1,
                ..clean("a")
            },
            FaultReport {
                converge_seconds: None,
                ..clean("a")
            },
            FaultReport {
                reconcile_clean: false,
                ..clean("a")
            },
            FaultReport {
                poison_injected: 6,
                poison_dead_lettered: 5,
                ..clean("a")
            },
        ] {
            assert!(!broken.passed(), "{broken:?}");
        }
        let poison = FaultReport {
            poison_injected: 6,
            poison_dead_lettered: 6,
            ..clean("poison")
        };
        assert!(poison.passed());
        assert_eq!(poison.dead_lettered(), 6);
    }

    #[test]
    fn the_run_passes_only_when_every_fault_does() {
        let mut report = ChaosReport {
            faults: vec![clean("a"), clean("b")],
            ..Default::default()
        };
        assert!(report.passed());
        assert_eq!(report.total_events(), 114);
        report.faults[1].lost = 2;
        assert!(!report.passed());
        assert!(report.markdown().contains("| b | 57 | 55 / 5→2 | 2 | 0 |"));
        report.faults[1].converge_seconds = None;
        assert!(report.markdown().contains("| never / never |"));
        assert!(report.markdown().contains("FAIL"));
        assert!(
            !ChaosReport::default().passed(),
            "an empty run proves nothing"
        );
    }
}
