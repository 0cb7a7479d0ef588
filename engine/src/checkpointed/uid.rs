//! Operator uids: the names a checkpoint stores state by (Flink's `uid`).
//!
//! A checkpoint finds an operator's state by its name, so that state survives a change of the
//! program around it (see [`registry`](crate::checkpoint::registry) for the names derived when
//! none is given). Naming the stateful operators of a program that will change keeps their
//! state theirs whatever is added before them:
//!
//! ```
//! use sluice_engine::prelude::*;
//! use sluice_engine::testing::run_sorted;
//!
//! let pairs = vec![('a', 1u64), ('b', 2), ('a', 3)];
//! let totals = run_sorted(1, pairs, |pairs| {
//!     pairs.uid("totals").update_state_by_key(|_, new: Vec<u64>, total: Option<u64>| {
//!         Some(total.unwrap_or(0) + new.iter().sum::<u64>())
//!     })
//! })
//! .unwrap();
//! assert_eq!(totals, vec![('a', 4), ('b', 2)]);
//! ```

use crate::error::Error;
use crate::job::JobContext;
use crate::stream::{Data, Stream};

/// Names the next stateful operator built on a stream.
pub trait Uid: Sized {
    /// Gives the next checkpointed instance built on this worker — the stateful operator this
    /// stream goes into, a source, an exactly-once sink — the name `uid`, under which
    /// checkpoints store its state. A uid that names nothing, or that two operators share,
    /// fails the job as it is built. Without checkpointing, it only checks `uid`.
    fn uid(self, uid: &str) -> Self;
}

impl<'scope, D: Data> Uid for Stream<'scope, D> {
    fn uid(self, uid: &str) -> Self {
        let scope = self.scope();
        let job = JobContext::of(scope);
        let named = check_uid(uid).and_then(|()| match job.checkpoints() {
            Some(coordinator) => coordinator.set_uid(scope.index(), uid),
            None => Ok(()),
        });
        if let Err(error) = named {
            job.refuse(error);
        }
        self
    }
}

/// A uid becomes part of a file name: letters, digits and `_ . # : -`, not starting with `.`.
pub fn check_uid(uid: &str) -> Result<(), Error> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.#:-".contains(c);
    if uid.is_empty() || uid.starts_with('.') || !uid.chars().all(allowed) || uid.len() > 100 {
        return Err(Error::Config(format!(
            "uid {uid:?}: a uid is 1 to 100 letters, digits and _ . # : -, not starting with ."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_uid;

    #[test]
    fn a_uid_that_could_not_be_a_file_name_is_refused_naming_it() {
        for good in ["counts", "per-user_totals", "v2.window#1", "a:b"] {
            assert!(check_uid(good).is_ok(), "{good}");
        }
        let long = "x".repeat(101);
        for bad in [
            "",
            ".hidden",
            "../up",
            "a/b",
            "with space",
            "naïve",
            long.as_str(),
        ] {
            let error = check_uid(bad).unwrap_err().to_string();
            assert!(error.contains(&format!("{bad:?}")), "{bad}: {error}");
        }
    }
}
