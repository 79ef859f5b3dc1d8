// What the three zguide examples must print, whichever language they are
// written in: included by tests/examples.rs (examples/*.rs) and by
// capi/tests/demo.rs (tests/demo/*.c). Each check gets the program's
// standard output, split into lines.

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

fn check_lbbroker(lines: &[&str]) -> Result<(), String> {
    for n in 0..10 {
        ensure(
            lines.contains(&format!("Client-{n}: OK").as_str()),
            &format!("Client-{n} got no OK"),
        )?;
    }
    let answered = lines
        .iter()
        .filter(|l| l.starts_with("broker: Worker-"))
        .count();
    ensure(answered == 10, "the broker did not route 10 replies")?;
    let last = lines.last().copied().unwrap_or("");
    ensure(
        last.starts_with("served per worker: [") && last.ends_with("], total 10"),
        "no summary of 10 requests served",
    )
}

fn check_asyncsrv(lines: &[&str]) -> Result<(), String> {
    // Requests 0..5 get 1, 2, 3, 1, 2 replies: 9 per client.
    for client in ["client-A", "client-B", "client-C"] {
        let received = lines
            .iter()
            .filter(|l| l.starts_with(&format!("{client} received: request #")))
            .count();
        ensure(
            received == 9,
            &format!("{client} received {received} replies, not 9"),
        )?;
        ensure(
            lines.contains(&format!("{client} done: 9 replies").as_str()),
            &format!("{client} did not finish"),
        )?;
        for (n, copies) in [(0, 1), (1, 2), (2, 3), (3, 1), (4, 2)] {
            let prefix = format!("{client} received: request #{n} (reply ");
            let got = lines.iter().filter(|l| l.starts_with(&prefix)).count();
            ensure(
                got == copies,
                &format!("{client} request #{n}: {got} replies"),
            )?;
        }
    }
    ensure(
        lines
            .last()
            .is_some_and(|l| l.starts_with("proxy ended: ") && l.contains("ETERM")),
        "the proxy did not end with ETERM",
    )
}

fn check_identity(lines: &[&str]) -> Result<(), String> {
    let rule = "----------------------------------------";
    ensure(
        lines.iter().filter(|l| **l == rule).count() == 3,
        "three dumps",
    )?;
    let generated = lines.get(1).copied().unwrap_or("");
    let hex = generated.strip_prefix("[005] 00").unwrap_or("");
    ensure(
        hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        &format!("a generated 5-byte routing id, not {generated:?}"),
    )?;
    let expected_rest = [
        "[000] ",
        "[039] ROUTER uses a generated 5 byte identity",
        "anonymous REQ got: the reply reaches the anonymous REQ",
        rule,
        "[005] PEER2",
        "[000] ",
        "[040] ROUTER socket uses REQ's socket identity",
        rule,
        "[007] DEALER3",
        "[025] DEALER sends no delimiter",
        "[024] and any number of frames",
        "DEALER got: hello by name",
    ];
    ensure(
        lines.get(2..) == Some(&expected_rest[..]),
        "the envelopes as expected",
    )
}
