//! The draft switch (capi's `draft` feature, libzmq's ENABLE_DRAFTS): a
//! build without it behaves as a libzmq built without the draft API, which
//! is what libzmq's release tarballs and every distribution ship. Such a
//! libzmq exports no draft function (tests/abi.rs checks the exports),
//! answers `zmq_has("draft")` with 0, refuses some draft options with
//! EINVAL (zmqrs::options::STABLE_BUILD_REFUSES), and still creates the
//! draft socket types and takes the other draft options.
//!
//! The probe is compiled without ZMQ_BUILD_DRAFT_API, the numbers written
//! out, as a program built against a stable libzmq would be. Without the
//! feature its output is compared with Debian's libzmq5 (4.3.4, built
//! without drafts) when that is installed. Needs gcc.

mod common;

use std::path::Path;

use common::{compile_c, run_c, scratch, soname_dir};

/// Prints zmq_has("draft"), whether each draft socket type can be made,
/// and for five socket types the result of setting and reading every
/// draft option (93..=124) as an int.
const PROBE: &str = r#"
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    void *ctx = zmq_ctx_new();
    printf("has draft %d\n", zmq_has("draft"));
    for (int t = 12; t <= 20; t++) {
        void *s = zmq_socket(ctx, t);
        printf("type %d %s\n", t, s ? "ok" : strerror(errno));
        if (s)
            zmq_close(s);
    }
    int types[] = {ZMQ_DEALER, ZMQ_ROUTER, ZMQ_XPUB, ZMQ_XSUB, ZMQ_SUB};
    for (int i = 0; i < 5; i++) {
        void *s = zmq_socket(ctx, types[i]);
        for (int o = 93; o <= 124; o++) {
            int v = 1;
            int set = zmq_setsockopt(s, o, &v, sizeof v);
            int set_errno = set ? errno : 0;
            int got = 0;
            size_t len = sizeof got;
            int get = zmq_getsockopt(s, o, &got, &len);
            printf("socket %d option %d set %s get %s\n", types[i], o,
                   set ? strerror(set_errno) : "ok", get ? strerror(errno) : "ok");
        }
        zmq_close(s);
    }
    zmq_ctx_term(ctx);
    return 0;
}
"#;

/// The probe's verdict on one option of one socket type: (set, get).
fn option_result(out: &str, socket: i32, option: i32) -> (String, String) {
    let head = format!("socket {socket} option {option} set ");
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix(&head))
        .unwrap_or_else(|| panic!("no line for socket {socket} option {option}:\n{out}"));
    let (set, get) = line.split_once(" get ").expect("set ... get ...");
    (set.to_string(), get.to_string())
}

#[test]
fn draft_api_follows_the_feature() {
    let dir = scratch("draft");
    let exe = compile_c(
        &dir,
        "probe",
        &PROBE.replace("#include <zmq.h>", STABLE_HEADER),
    );
    let out = run_c(&exe, &soname_dir(&dir));
    let draft = cfg!(feature = "draft");
    assert!(
        out.starts_with(&format!("has draft {}\n", draft as i32)),
        "{out}"
    );
    // Both kinds of libzmq build make the draft socket types.
    for t in 12..=20 {
        assert!(out.contains(&format!("type {t} ok\n")), "type {t}:\n{out}");
    }
    if draft {
        let got = option_result(&out, ROUTER, 97 /* ZMQ_ROUTER_NOTIFY */);
        assert_eq!((got.0.as_str(), got.1.as_str()), ("ok", "ok"));
    } else {
        // glibc's strerror(EINVAL).
        let einval = "Invalid argument";
        for option in zmqrs::options::STABLE_BUILD_REFUSES {
            let got = option_result(&out, ROUTER, option);
            assert_eq!(
                (got.0.as_str(), got.1.as_str()),
                (einval, einval),
                "option {option}"
            );
        }
    }
    // Draft options a stable libzmq takes all the same.
    for option in [
        93,  /* ZAP_ENFORCE_DOMAIN */
        94,  /* LOOPBACK_FASTPATH */
        109, /* RECONNECT_STOP */
    ] {
        assert_eq!(
            option_result(&out, ROUTER, option),
            ("ok".into(), "ok".into())
        );
    }
}

/// Debian's libzmq5 is a libzmq built without the draft API: the stable
/// build answers the probe as it does, but for ZMQ_TOPICS_COUNT, which
/// libzmq 4.3.5 added (4.3.4 refuses it).
#[test]
fn stable_build_answers_as_debians_libzmq() {
    if cfg!(feature = "draft") {
        return;
    }
    let debian = Path::new("/usr/include/zmq.h");
    if !debian.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "libzmq3-dev is missing: tests/setup installs it"
        );
        eprintln!("skipped: libzmq3-dev is not installed");
        return;
    }
    let dir = scratch("debian");
    let ours = run_c(
        &compile_c(
            &dir,
            "probe",
            &PROBE.replace("#include <zmq.h>", STABLE_HEADER),
        ),
        &soname_dir(&dir),
    );
    let src = dir.join("probe-debian.c");
    std::fs::write(&src, PROBE).expect("write source");
    let exe = dir.join("probe-debian");
    common::run(
        std::process::Command::new("gcc")
            .args(["-std=gnu11", "-o"])
            .arg(&exe)
            .arg(&src)
            .arg("-lzmq"),
    );
    let theirs = common::run(&mut std::process::Command::new(&exe));
    let differ: Vec<(&str, &str)> = theirs
        .lines()
        .zip(ours.lines())
        .filter(|(t, o)| t != o && !t.contains(" option 116 "))
        .collect();
    assert!(differ.is_empty(), "Debian's libzmq5 vs ours: {differ:#?}");
    assert_eq!(theirs.lines().count(), ours.lines().count());
}

/// Our header, included as a program built without ZMQ_BUILD_DRAFT_API
/// sees it (compile_c defines the macro for the draft build).
const STABLE_HEADER: &str = "#undef ZMQ_BUILD_DRAFT_API\n#include <zmq.h>";

/// ZMQ_ROUTER.
const ROUTER: i32 = 6;
