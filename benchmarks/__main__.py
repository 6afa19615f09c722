import sys

from benchmarks.run_all import main, run_module

if len(sys.argv) > 1 and sys.argv[1].startswith("bench_"):
    raise SystemExit(run_module(sys.argv[1], sys.argv[2:]))
raise SystemExit(main())
