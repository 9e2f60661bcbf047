//! The executor against the fake system: builtins, programs, pipelines,
//! redirections, `&&`/`||`/`;`, `if`/`for`/`while`, statuses and `$?`,
//! variables and the environment, `source`, job control, Ctrl-C in loops.
//! Every test also checks that the shell leaks no descriptor.

mod common;

use common::Fake;
use sh::system::{FdAction, OpenMode, ProcessGroup, SIGCONT};
use sh::Shell;

fn shell() -> Shell<Fake> {
    Shell::new(Fake::new(), &["PATH=/bin", "HOME=/home/user"], false)
}

fn interactive() -> Shell<Fake> {
    Shell::new(Fake::new(), &["PATH=/bin", "HOME=/home/user"], true)
}

/// Runs a script; returns (status, stdout, stderr) and checks for leaks.
fn run(src: &str) -> (i32, String, String) {
    let mut sh = shell();
    let status = sh.run_script(src);
    assert_eq!(
        sh.sys.open_fds(),
        [0, 1, 2],
        "descriptor leak after {src:?}"
    );
    (status, sh.sys.out(), sh.sys.err())
}

fn out(src: &str) -> String {
    run(src).1
}

#[test]
fn builtins_and_programs() {
    assert_eq!(
        run("echo hello   world"),
        (0, "hello world\n".into(), "".into())
    );
    assert_eq!(out("echo -n a; echo b"), "ab\n");
    assert_eq!(out("cat /etc/motd"), "hello from motd\nsecond line\n");
    assert_eq!(out("/bin/echo direct"), "direct\n");
    assert_eq!(out("args 'a b' c\\ d \"$HOME\""), "<a b><c d></home/user>");
    let mut sh = shell();
    sh.run_script("cat /etc/motd");
    assert_eq!(sh.sys.spawned[0].path, "/bin/cat");
    assert_eq!(sh.sys.spawned[0].pgroup, ProcessGroup::Inherit);
}

#[test]
fn pipelines_of_any_length() {
    assert_eq!(out("echo hi there | upper"), "HI THERE\n");
    assert_eq!(out("cat /etc/motd | upper | grep HELLO | wc"), "1\n");
    assert_eq!(
        out("cat /etc/motd | cat | cat | cat | cat | cat | cat | wc"),
        "2\n"
    );
    assert_eq!(run("echo a | grep zzz"), (1, "".into(), "".into()));
    assert_eq!(run("echo a | grep zzz | true").0, 0);
    assert_eq!(run("echo a | false").0, 1);
    // A builtin in a longer pipeline runs as the program of that name.
    let mut sh = shell();
    sh.run_script("echo x | upper");
    assert_eq!(sh.sys.spawned[0].path, "/bin/echo");
    assert_eq!(
        sh.sys.spawned[0].actions[0],
        FdAction::Dup2 { from: 4, to: 1 }
    );
    assert_eq!(
        sh.sys.spawned[1].actions[0],
        FdAction::Dup2 { from: 3, to: 0 }
    );
}

#[test]
fn redirections() {
    let mut sh = shell();
    sh.run_script("echo one > /tmp/f; echo two >> /tmp/f; cat < /tmp/f");
    assert_eq!(sh.sys.file("/tmp/f"), "one\ntwo\n");
    assert_eq!(sh.sys.out(), "one\ntwo\n");
    sh.run_script("echo three > /tmp/f; cat /tmp/f > /tmp/g; err oops 2> /tmp/e");
    assert_eq!(sh.sys.file("/tmp/g"), "three\n");
    assert_eq!(sh.sys.file("/tmp/e"), "oops\n");
    sh.run_script("err boom 2>&1 | upper");
    assert!(sh.sys.out().ends_with("BOOM\n"));
    sh.run_script("err quiet > /tmp/both 2>&1; err loud 2>&1 > /tmp/only");
    assert_eq!(sh.sys.file("/tmp/both"), "quiet\n");
    assert_eq!(sh.sys.file("/tmp/only"), "");
    assert!(
        sh.sys.out().ends_with("loud\n"),
        "2>&1 then > sends stderr to the old stdout"
    );
    sh.run_script("echo keep 3>&1 1>&2 2>&3 3>&-");
    assert!(sh.sys.err().ends_with("keep\n"));
    sh.run_script("{ echo a; echo b; } > /tmp/grp; echo after");
    assert_eq!(sh.sys.file("/tmp/grp"), "a\nb\n");
    assert!(sh.sys.out().ends_with("after\n"));
    sh.run_script("> /tmp/empty");
    assert_eq!(sh.sys.file("/tmp/empty"), "");
    sh.run_script("cd /tmp; echo rel > here; cat here");
    assert_eq!(sh.sys.file("/tmp/here"), "rel\n");
    assert_eq!(sh.sys.open_fds(), [0, 1, 2]);
    let spawn = sh
        .sys
        .spawned
        .iter()
        .find(|r| r.argv == ["cat", "/tmp/f"])
        .unwrap();
    assert_eq!(
        spawn.actions,
        [FdAction::Open {
            fd: 1,
            path: "/tmp/g".into(),
            mode: OpenMode::Write
        }]
    );
}

#[test]
fn redirection_errors_leave_the_shell_working() {
    let (status, _, err) = run("echo hi < /nonexistent; echo next");
    assert_eq!(status, 0);
    assert_eq!(err, "sh: /nonexistent: No such file or directory\n");
    assert_eq!(run("echo x > /nodir/f").0, 1);
    assert_eq!(run("echo x >&foo").2, "sh: foo: ambiguous redirect\n");
    assert_eq!(run("echo x >&7").2, "sh: 7: Bad file descriptor\n");
    assert_eq!(out("echo x > /nodir/f; echo still here"), "still here\n");
}

#[test]
fn and_or_lists_and_statuses() {
    assert_eq!(out("false && echo no || echo yes"), "yes\n");
    assert_eq!(out("true && echo a && echo b"), "a\nb\n");
    assert_eq!(out("true || echo no; echo $?"), "0\n");
    assert_eq!(out("status 7; echo $?"), "7\n");
    assert_eq!(out("false; echo $?; echo $?"), "1\n0\n");
    assert_eq!(out("! false; echo $?; ! true; echo $?"), "0\n1\n");
    assert_eq!(out("status 300; echo $?"), "44\n");
    assert_eq!(run("intr").0, 130);
    assert_eq!(run("status 3").0, 3);
    assert_eq!(out("echo $$"), "1000\n");
}

#[test]
fn compound_commands() {
    assert_eq!(out("if true; then echo y; else echo n; fi"), "y\n");
    assert_eq!(
        out("if false; then echo y; elif true; then echo e; else echo n; fi"),
        "e\n"
    );
    assert_eq!(out("if false; then echo y; fi; echo $?"), "0\n");
    assert_eq!(
        out("if grep zzz /etc/motd; then echo y; else echo n; fi"),
        "n\n"
    );
    assert_eq!(out("for i in a b c; do echo $i; done"), "a\nb\nc\n");
    assert_eq!(out("for f in /etc/*; do echo $f; done"), "/etc/motd\n");
    assert_eq!(
        out("set -- x y; for a; do echo $a; done; echo $#"),
        "x\ny\n2\n"
    );
    assert_eq!(
        out("X=; until test \"$X\" = aaa; do X=${X}a; done; echo $X"),
        "aaa\n"
    );
    assert_eq!(
        out("X=a; while test $X != aaaa; do X=a$X; echo $X; done"),
        "aa\naaa\naaaa\n"
    );
    assert_eq!(out("while false; do echo never; done; echo $?"), "0\n");
    assert_eq!(
        out("for i in 1 2; do for j in a b; do echo $i$j; done; done"),
        "1a\n1b\n2a\n2b\n"
    );
}

#[test]
fn compound_commands_in_pipelines() {
    assert_eq!(out("for i in a b; do echo $i; done | upper"), "A\nB\n");
    assert_eq!(out("echo x | { upper; }"), "X\n");
    assert_eq!(out("cat /etc/motd | if true; then wc; fi | upper"), "2\n");
    let (status, _, err) = run("{ true; } | { true; }");
    assert_eq!(
        (status, err.as_str()),
        (
            1,
            "sh: a pipeline may hold only one builtin or compound command\n"
        )
    );
}

#[test]
fn variables_and_environment() {
    assert_eq!(out("X=1; echo $X ${X}2 \"$X\""), "1 12 1\n");
    assert_eq!(out("X='a  b'; args $X \"$X\""), "<a><b><a  b>");
    let env = out("FOO=bar; export FOO; BAR=no; env");
    assert!(env.contains("FOO=bar\n") && !env.contains("BAR="));
    assert!(out("export A=1 B; env").contains("A=1\n"));
    let env = out("X=temp env; echo [$X]");
    assert!(env.contains("X=temp\n") && env.ends_with("[]\n"));
    assert_eq!(out("export HOME=/x; unset HOME; echo [$HOME]"), "[]\n");
    assert_eq!(
        run("export 1x=2").2,
        "sh: export: '1x=2': not a valid identifier\n"
    );
    assert!(out("export").contains("export PATH=\"/bin\"\n"));
}

#[test]
fn cd_pwd_type() {
    assert_eq!(
        out("cd /tmp; pwd; cd ..; pwd; cd; pwd"),
        "/tmp\n/\n/home/user\n"
    );
    assert_eq!(
        out("cd /tmp; cd /etc; cd -; echo $OLDPWD $PWD"),
        "/tmp\n/etc /tmp\n"
    );
    let (status, _, err) = run("cd /nope");
    assert_eq!(
        (status, err.as_str()),
        (1, "sh: cd: /nope: No such file or directory\n")
    );
    assert_eq!(
        run("cd /etc/motd").2,
        "sh: cd: /etc/motd: Not a directory\n"
    );
    let (status, o, e) = run("type echo cat if nosuch");
    assert_eq!(
        o,
        "echo is a shell builtin\ncat is /bin/cat\nif is a shell keyword\n"
    );
    assert_eq!((status, e.as_str()), (1, "sh: type: nosuch: not found\n"));
    let mut sh = shell();
    sh.run_script("cd /tmp");
    assert_eq!(sh.prompt(), "/tmp $ ");
}

#[test]
fn errors_and_exit() {
    let (status, _, err) = run("nosuch arg");
    assert_eq!(
        (status, err.as_str()),
        (127, "sh: nosuch: command not found\n")
    );
    assert_eq!(run("nosuch | upper").0, 0);
    let mut sh = shell();
    assert_eq!(sh.run_script("echo a; fi"), 2);
    assert_eq!(
        sh.sys.err(),
        "sh: syntax error near unexpected token 'fi'\n"
    );
    assert_eq!(
        sh.sys.out(),
        "",
        "nothing of a script that does not parse runs"
    );
    assert_eq!(sh.run_script("echo $?; echo ok"), 0);
    assert_eq!(sh.sys.out(), "2\nok\n");
    assert_eq!(sh.exit_requested(), None);
    assert_eq!(sh.run_script("echo a; exit 4; echo b"), 4);
    assert_eq!(sh.exit_requested(), Some(4));
    assert!(!sh.sys.out().contains('b'));
    let mut sh = shell();
    sh.run_script("true; if true; then false; else :; fi; exit");
    assert_eq!(sh.exit_requested(), Some(1));
    let mut sh = shell();
    sh.run_script("for i in 1 2; do exit 9 > /tmp/x; done");
    assert_eq!(
        (sh.exit_requested(), sh.sys.open_fds()),
        (Some(9), vec![0, 1, 2])
    );
    assert_eq!(
        run("exit abc").2,
        "sh: exit: abc: numeric argument required\n"
    );
}

#[test]
fn source_and_scripts() {
    let mut sh = shell();
    sh.sys
        .files
        .insert("/tmp/s.sh".into(), b"echo sourced $1 $#\nX=5\n".to_vec());
    sh.run_script("set -- a b c; . /tmp/s.sh arg; echo $X $#");
    assert_eq!(sh.sys.out(), "sourced arg 1\n5 3\n");
    sh.sys
        .files
        .insert("/tmp/loop.sh".into(), b"source /tmp/loop.sh\n".to_vec());
    assert_eq!(sh.run_script("source /tmp/loop.sh"), 1);
    assert!(sh.sys.err().contains("nested too deeply"));
    sh.sys
        .files
        .insert("/tmp/bad.sh".into(), b"if then\n".to_vec());
    assert_eq!(sh.run_script("source /tmp/bad.sh"), 2);
    assert_eq!(sh.run_script("source /tmp/none.sh"), 1);
    let mut sh = shell();
    sh.set_args("script.sh", &["x".into(), "y z".into()]);
    sh.run_script("echo $0 $# \"$2\"; for a in \"$@\"; do args $a; done");
    assert_eq!(sh.sys.out(), "script.sh 2 y z\n<x><y><z>");
}

#[test]
fn background_jobs_fg_and_notification() {
    let mut sh = interactive();
    sh.run_script("sleep 100 &");
    assert_eq!(sh.sys.err(), "[1] 100\n");
    sh.run_script("echo $!; jobs");
    assert_eq!(
        sh.sys.out(),
        "100\n[1]+  Running                 sleep 100 &\n"
    );
    sh.notify_jobs();
    assert_eq!(sh.sys.err(), "[1] 100\n", "a running job is not reported");
    sh.run_script("fg %1");
    assert!(sh.sys.out().ends_with("sleep 100\n"));
    assert_eq!(sh.sys.foreground, [100, 1000]);
    sh.run_script("jobs");
    assert!(
        sh.sys.out().ends_with("sleep 100\n"),
        "the job table is empty"
    );
    sh.run_script("echo a | sleep 1 &");
    assert_eq!(sh.sys.spawned[2].pgroup, ProcessGroup::Join(101));
    sh.run_script("wc < /etc/motd &");
    sh.notify_jobs();
    assert!(sh
        .sys
        .err()
        .ends_with("[2]+  Done                    wc </etc/motd\n"));
    assert_eq!(sh.run_script("fg %7"), 1);
    assert!(sh.sys.err().ends_with("sh: %7: no such job\n"));
    assert_eq!(sh.run_script("{ true; } &"), 1);
    assert!(sh
        .sys
        .err()
        .ends_with("sh: only programs can run in the background\n"));
    // A builtin in the background runs as the program of its name, if any.
    assert_eq!(sh.run_script("cd / &"), 127);
    assert_eq!(sh.sys.open_fds(), [0, 1, 2]);
}

#[test]
fn stop_bg_and_done() {
    let mut sh = interactive();
    assert_eq!(sh.run_script("stopper"), 148);
    assert_eq!(sh.sys.err(), "\n[1]+  Stopped                 stopper\n");
    sh.run_script("jobs");
    assert_eq!(sh.sys.out(), "[1]+  Stopped                 stopper\n");
    sh.run_script("bg");
    assert_eq!(sh.sys.signals, [(100, SIGCONT)]);
    assert!(sh.sys.out().ends_with("[1]+ stopper &\n"));
    sh.notify_jobs();
    assert!(sh
        .sys
        .err()
        .ends_with("[1]+  Done                    stopper\n"));
    // Stopped again, then brought back with fg: it runs to the end.
    sh.run_script("stopper");
    assert_eq!(sh.run_script("fg"), 0);
    assert_eq!(sh.sys.signals.last(), Some(&(101, SIGCONT)));
    sh.run_script("jobs");
    assert!(sh.sys.out().ends_with("stopper\n"));
}

#[test]
fn background_job_stopped_by_a_signal_is_reported_once() {
    let mut sh = interactive();
    sh.run_script("ttou &");
    assert_eq!(sh.sys.err(), "[1] 100\n");
    sh.notify_jobs();
    assert_eq!(
        sh.sys.err(),
        "[1] 100\n[1]+  Stopped                 ttou\n"
    );
    sh.notify_jobs();
    assert!(
        sh.sys
            .err()
            .ends_with("] 100\n[1]+  Stopped                 ttou\n"),
        "said once"
    );
    assert_eq!(sh.run_script("fg"), 0);
    assert_eq!(sh.sys.signals.last(), Some(&(100, SIGCONT)));
    assert_eq!(
        sh.sys.foreground[..2],
        [100, 100],
        "the terminal given before SIGCONT"
    );
    assert!(sh.sys.out().ends_with("ttou\n"));
    // Stopped, then killed: it ends without running again, and is
    // reported and removed at the next prompt.
    sh.run_script("ttou &");
    sh.notify_jobs();
    assert!(sh
        .sys
        .err()
        .ends_with("[1]+  Stopped                 ttou\n"));
    sh.run_script("kill -KILL %1");
    sh.notify_jobs();
    assert!(sh
        .sys
        .err()
        .ends_with("[1]+  Exit 137                ttou\n"));
    sh.run_script("jobs");
    assert!(sh.sys.out().ends_with("ttou\n"), "the job table is empty");
}

#[test]
fn interrupts_stop_loops() {
    let mut sh = shell();
    sh.sys.interrupt = true;
    assert_eq!(sh.run_script("while true; do :; done"), 130);
    assert_eq!(
        sh.run_script("for i in 1 2 3; do intr; echo $i; done; echo after"),
        130
    );
    assert_eq!(
        sh.sys.out(),
        "",
        "a job killed by Ctrl-C ends the command line"
    );
    assert_eq!(sh.run_script("intr; echo skipped"), 130);
    assert_eq!(sh.run_script("echo next line"), 0);
    assert_eq!(sh.sys.out(), "next line\n");
}

#[test]
fn pipeline_gets_its_own_process_group_and_the_terminal() {
    let mut sh = interactive();
    sh.run_script("cat /etc/motd | upper | wc");
    let groups: Vec<_> = sh.sys.spawned.iter().map(|r| r.pgroup).collect();
    assert_eq!(
        groups,
        [
            ProcessGroup::New,
            ProcessGroup::Join(100),
            ProcessGroup::Join(100)
        ]
    );
    assert_eq!(sh.sys.foreground, [100, 1000]);
    assert_eq!(sh.sys.out(), "2\n");
}

#[test]
fn kill_and_wait_builtins() {
    let mut sh = interactive();
    assert_eq!(sh.run_script("kill -l"), 0);
    assert!(sh.sys.out().starts_with(" 1) SIGHUP "));
    assert!(sh.sys.out().contains("19) SIGSTOP"));
    assert_eq!(sh.run_script("kill -l 148"), 0);
    assert!(sh.sys.out().ends_with("TSTP\n"));
    // A stopped job continued with kill -CONT %1 runs again.
    assert_eq!(sh.run_script("stopper"), 148);
    assert_eq!(sh.run_script("kill -CONT %1"), 0);
    assert_eq!(sh.sys.signals, [(100, SIGCONT)]);
    // wait: the job runs to its end, and leaves the table.
    assert_eq!(sh.run_script("wait %1"), 0);
    let before = sh.sys.out().len();
    sh.run_script("jobs");
    assert_eq!(sh.sys.out().len(), before, "nothing listed");
    // jobs looks again: a finished background job shows Done once.
    sh.run_script("stopper");
    sh.run_script("kill -CONT %1; jobs");
    assert!(sh
        .sys
        .out()
        .ends_with("[1]+  Done                    stopper\n"));
    // kill of a pid, a job's group, and errors.
    sh.run_script("sleep 100 &");
    assert_eq!(sh.run_script("kill -s KILL $!"), 0);
    assert_eq!(sh.sys.killed, [(102, 9)]);
    assert_eq!(sh.run_script("wait"), 128 + 9);
    assert_eq!(sh.run_script("kill %9"), 1);
    assert!(sh.sys.err().ends_with("sh: %9: no such job\n"));
    assert_eq!(sh.run_script("kill -BOGUS 1"), 2);
    assert!(sh.sys.err().ends_with("sh: kill: BOGUS: invalid signal\n"));
    assert_eq!(sh.run_script("kill abc"), 1);
    assert_eq!(sh.run_script("wait %5"), 127);
    assert_eq!(sh.run_script("type kill wait"), 0);
}

#[test]
fn exec_builtin_reports_what_it_cannot_run() {
    assert_eq!(
        run("exec no-such-cmd; echo after $?"),
        (
            0,
            "after 127\n".into(),
            "sh: exec: no-such-cmd: not found\n".into()
        )
    );
    // The fake system cannot replace the shell: the error is said, and
    // the shell goes on.
    let (status, _, err) = run("exec cat /etc/motd");
    assert_eq!(status, 126);
    assert!(err.starts_with("sh: exec: cat: "), "{err}");
    assert_eq!(run("exec"), (0, "".into(), "".into()));
}
