"""Checks the built image's configuration (podman image inspect JSON); exit 1 names what is
missing. Used by scripts/docker-smoke."""
import json, sys
img = json.load(open(sys.argv[1]))[0]
cfg = img.get("Config", {})
env = dict(e.split("=", 1) for e in cfg.get("Env", []))
hc = img.get("HealthCheck") or img.get("Healthcheck") or cfg.get("Healthcheck") or {}
problems = []
def want(what, ok):
    if not ok:
        problems.append(what)
want("USER 10001:10001 (monitor)", cfg.get("User") in ("10001:10001", "10001", "monitor"))
want("Entrypoint [monitor]", cfg.get("Entrypoint") == ["monitor"])
want("Cmd [run]", cfg.get("Cmd") == ["run"])
want("WorkingDir /app", cfg.get("WorkingDir") == "/app")
want("MONITOR_OPS__HOST=0.0.0.0", env.get("MONITOR_OPS__HOST") == "0.0.0.0")
want("PATH starts with /opt/venv/bin", env.get("PATH", "").startswith("/opt/venv/bin:"))
want("PYTHONUNBUFFERED=1", env.get("PYTHONUNBUFFERED") == "1")
want("EXPOSE 8080", "8080/tcp" in (cfg.get("ExposedPorts") or {}))
want("VOLUME /app/state", "/app/state" in (cfg.get("Volumes") or {}))
want("STOPSIGNAL SIGTERM", cfg.get("StopSignal") in ("SIGTERM", "15", "TERM"))
want("HEALTHCHECK on /healthz", "/healthz" in " ".join(hc.get("Test") or []))
print("image config:", json.dumps({"User": cfg.get("User"), "Entrypoint": cfg.get("Entrypoint"),
      "Cmd": cfg.get("Cmd"), "StopSignal": cfg.get("StopSignal"), "Healthcheck": hc.get("Test")},
      ensure_ascii=False))
if problems:
    print("missing:", ", ".join(problems))
    sys.exit(1)
