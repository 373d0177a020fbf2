"""The command line: version, check (valid and invalid files), and start-up errors."""
import re
import subprocess

from conftest import PORTICO_BIN, SOURCE_DIR


def run(*args, env=None):
    return subprocess.run([PORTICO_BIN, *args], capture_output=True, text=True, timeout=60, env=env)


def test_version():
    r = run("version")
    assert r.returncode == 0
    assert re.match(r"portico \d+\.\d+\.\d+", r.stdout)


def test_check_accepts_the_demo_config():
    r = run("check", "-c", str(SOURCE_DIR / "examples" / "kong.yml"))
    assert r.returncode == 0, r.stderr
    assert "ok: 6 service(s), 6 route(s), 1 upstream(s), 1 target(s), 8 plugin(s), 2 consumer(s)" in r.stdout


def test_check_lists_every_error_with_file_line_column(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text('_format_version: "3.0"\n'
                   'services:\n'
                   '- name: users\n'
                   '  url: http://127.0.0.1:9101\n'
                   '  retries: lots\n'
                   '  routes:\n'
                   '  - name: users\n'
                   '    paths: [users]\n'
                   '    strip_pth: true\n')
    r = run("check", "-c", str(bad))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert "%s:5:12: services[0].retries: expected an integer" % bad in lines
    assert any(l.startswith("%s:8:" % bad) and "services[0].routes[0].paths[0]: should start with: /" in l
               for l in lines), lines
    assert "%s:9:5: services[0].routes[0].strip_pth: unknown field" % bad in lines
    assert lines[-1] == "%s: 3 error(s)" % bad


def test_check_missing_file():
    r = run("check", "-c", "/nonexistent.yml")
    assert r.returncode == 1
    assert "/nonexistent.yml: cannot open file" in r.stderr


def test_run_refuses_an_invalid_config(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text('_format_version: "3.0"\nservices:\n- name: a\n')
    r = run("run", "-c", str(bad), "--proxy-listen", "127.0.0.1:0", "--admin-listen", "off")
    assert r.returncode == 1
    assert "must set either 'url' or 'host'" in r.stderr
    assert "not started" in r.stderr


def test_run_reports_a_bad_listen_address(tmp_path):
    r = run("run", "-c", str(SOURCE_DIR / "examples" / "kong.yml"), "--proxy-listen", "nonsense")
    assert r.returncode == 1
    assert "--proxy-listen" in r.stderr
