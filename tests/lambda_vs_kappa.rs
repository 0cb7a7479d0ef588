//! The lambda-vs-kappa example: both architectures' views equal a plain loop over the log,
//! for both versions of the view, wherever the batch layer stopped, on 1 and 2 workers.

#[allow(dead_code)]
#[path = "../examples/lambda_vs_kappa.rs"]
mod lambda_vs_kappa;

use lambda_vs_kappa::{kappa, lambda, sample, View};

fn plain_loop(log: &[String], version: u32) -> View {
    let mut view = View::new();
    for line in log {
        let page = line.split(' ').nth(1).unwrap();
        let page = if version == 1 {
            page.to_string()
        } else {
            page.to_lowercase()
        };
        *view.entry(page).or_default() += 1;
    }
    view
}

#[test]
fn lambda_and_kappa_views_equal_a_plain_loop() {
    let log = sample();
    for version in [1, 2] {
        let expected = plain_loop(&log, version);
        assert!(expected.len() >= 4, "{expected:?}");
        assert_eq!(
            kappa(&log, version, 2).unwrap(),
            expected,
            "kappa v{version}"
        );
        for (batch_end, workers) in [(0, 1), (1_234, 2), (3_750, 2), (log.len(), 1)] {
            assert_eq!(
                lambda(&log, batch_end, version, workers).unwrap(),
                expected,
                "lambda v{version}, batch view up to {batch_end}, {workers} worker(s)"
            );
        }
    }
    assert_ne!(
        plain_loop(&log, 1),
        plain_loop(&log, 2),
        "the code change matters"
    );
}
