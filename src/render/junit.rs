//! JUnit XML for CI systems: one testsuite per phase, one testcase per check, failures
//! carrying the problem's message and fix.

use std::io::Write;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};

use crate::rehearsal::Report;
use crate::report::Problem;

fn pass(name: impl Into<String>) -> TestCase {
    TestCase::new(name.into(), TestCaseStatus::success())
}

fn fail(name: impl Into<String>, p: &Problem) -> TestCase {
    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
    st.set_message(p.message.clone())
        .set_type(p.kind.as_str())
        .set_description(format!("{}\nfix: {}", p.message, p.fix));
    TestCase::new(name.into(), st)
}

fn problem_name(p: &Problem) -> String {
    let mut n = p.kind.as_str().to_string();
    for part in [&p.subsystem, &p.migration, &p.object]
        .into_iter()
        .flatten()
    {
        n.push(' ');
        n.push_str(part);
    }
    n
}

fn suite(r: &Report, phase: &str) -> TestSuite {
    let mut s = TestSuite::new(phase.to_string());
    if let Some(t) = r.phases.iter().find(|p| p.phase == phase) {
        s.set_time(Duration::from_millis(t.duration_ms));
    }
    s
}

/// Problems of one phase as failing cases, or one passing case named `ok_name` if none.
fn checks(s: &mut TestSuite, r: &Report, phase: &str, ok_name: &str) {
    let found: Vec<&Problem> = r
        .problems
        .iter()
        .filter(|p| p.phase == Some(phase))
        .collect();
    if found.is_empty() {
        s.add_test_case(pass(ok_name));
    }
    for p in found {
        s.add_test_case(fail(problem_name(p), p));
    }
}

pub fn write(w: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    let mut report = JReport::new("kong-rehearse");

    let mut judge = suite(r, "judge");
    for st in &r.state {
        match r.problems.iter().find(|p| {
            p.phase == Some("judge") && p.subsystem.as_deref() == Some(st.subsystem.as_str())
        }) {
            Some(p) => judge.add_test_case(fail(format!("subsystem {}", st.subsystem), p)),
            None => judge.add_test_case(pass(format!("subsystem {}", st.subsystem))),
        };
    }
    for p in r
        .problems
        .iter()
        .filter(|p| p.phase == Some("judge") && p.subsystem.is_none())
    {
        judge.add_test_case(fail(problem_name(p), p));
    }
    report.add_test_suite(judge);

    let mut hazards = suite(r, "hazards");
    checks(&mut hazards, r, "hazards", "no pre-flight hazards");
    report.add_test_suite(hazards);

    for (phase, step_phase) in [("up", "up"), ("finish", "teardown")] {
        let mut s = suite(r, phase);
        for m in r.migrations.iter().filter(|m| m.phase == step_phase) {
            let mut c = match r
                .failure
                .as_ref()
                .filter(|f| m.status == "failed" && f.subsystem == m.subsystem)
            {
                Some(f) => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                    st.set_message(f.error.clone())
                        .set_type("migration_failed")
                        .set_description(format!("{}\nstatement: {}", f.error, f.statement));
                    TestCase::new(format!("{}/{}", m.subsystem, m.migration), st)
                }
                None => match timed_out(r, m) {
                    Some(p) => fail(format!("{}/{}", m.subsystem, m.migration), p),
                    None => pass(format!("{}/{}", m.subsystem, m.migration)),
                },
            };
            c.set_time(Duration::from_millis(m.duration_ms));
            s.add_test_case(c);
        }
        report.add_test_suite(s);
    }

    let mut vu = suite(r, "verify_up");
    if r.phases.iter().any(|p| p.phase == "verify_up") {
        checks(
            &mut vu,
            r,
            "verify_up",
            "2.8 objects kept, up-phase objects present, schema_meta as Kong writes it",
        );
    }
    report.add_test_suite(vu);

    let mut vf = suite(r, "verify_finish");
    if r.phases.iter().any(|p| p.phase == "verify_finish") {
        for c in &r.counts {
            let name = format!("table {}", c.table);
            let p = r.problems.iter().find(|p| {
                p.phase == Some("verify_finish") && p.object.as_deref() == Some(name.as_str())
            });
            match p {
                Some(p) => vf.add_test_case(fail(name, p)),
                None => vf.add_test_case(pass(name)),
            };
        }
        for p in r.problems.iter().filter(|p| {
            p.phase == Some("verify_finish")
                && !p.object.as_deref().is_some_and(|o| o.starts_with("table "))
        }) {
            vf.add_test_case(fail(problem_name(p), p));
        }
        if !r.problems.iter().any(|p| p.phase == Some("verify_finish")) {
            vf.add_test_case(pass(
                "schema equals the Kong 3.4.2 reference; schema_meta as Kong writes it",
            ));
        }
    }
    report.add_test_suite(vf);

    if !r.rollback.is_empty() {
        let mut s = TestSuite::new("rollback");
        for o in &r.rollback {
            let name = format!("rollback {:?}", o.method).to_lowercase();
            if o.exact {
                s.add_test_case(pass(name));
            } else {
                // A method that does not restore exactly is a finding, not necessarily the
                // run's failure (another method may); it is reported as skipped with why.
                let mut st = TestCaseStatus::skipped();
                st.set_message(format!(
                    "does not restore the 2.8 database exactly ({} differences)",
                    o.differences.len()
                ));
                s.add_test_case(TestCase::new(name, st));
            }
        }
        report.add_test_suite(s);
    }

    forecast(&mut report, r);

    report
        .serialize(w)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// The `db_timeout` problem of a step, if it outlasted --db-timeout.
fn timed_out<'a>(r: &'a Report, m: &crate::kong::runner::builtin::StepLog) -> Option<&'a Problem> {
    let phase = if m.phase == "up" { "up" } else { "finish" };
    r.problems.iter().find(|p| {
        p.kind == crate::report::Kind::DbTimeout
            && p.phase == Some(phase)
            && p.subsystem.as_deref() == Some(m.subsystem.as_str())
            && p.migration.as_deref() == Some(m.migration.as_str())
    })
}

/// The 2.8 traffic and the interrupted copies: findings, not the run's failure, so a slow
/// query class or a rerun that differs is reported as skipped with why (as a rollback
/// method that does not restore exactly is).
fn forecast(report: &mut JReport, r: &Report) {
    let f = &r.forecast;
    if !f.workload.is_empty() {
        let mut s = TestSuite::new("workload");
        for c in &f.workload {
            let mut case =
                if c.max_wait_ms >= crate::rehearsal::forecast::WAIT_WARNING.as_millis() as u64 {
                    let mut st = TestCaseStatus::skipped();
                    st.set_message(format!(
                        "2.8 {} waited {} ms behind {}",
                        c.query,
                        c.max_wait_ms,
                        c.blocked_by.as_deref().unwrap_or("no migration lock seen")
                    ));
                    TestCase::new(c.query.clone(), st)
                } else {
                    pass(c.query.clone())
                };
            case.set_time(Duration::from_millis(c.max_wait_ms));
            s.add_test_case(case);
        }
        report.add_test_suite(s);
    }
    if !f.interrupts.is_empty() {
        let mut s = TestSuite::new("interrupts");
        for i in &f.interrupts {
            let name = format!("interrupt {}", i.step);
            let mut case = if i.same_as_clean {
                pass(name)
            } else {
                let mut st = TestCaseStatus::skipped();
                st.set_message(format!(
                    "a rerun after a cut at {} does not give the clean end state ({} differences); recovery: {}",
                    i.at,
                    i.differences.len(),
                    i.recovery
                ));
                TestCase::new(name, st)
            };
            case.set_time(Duration::from_millis(i.duration_ms));
            s.add_test_case(case);
        }
        report.add_test_suite(s);
    }
}
