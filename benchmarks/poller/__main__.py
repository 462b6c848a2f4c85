from benchmarks.poller.bench import main

raise SystemExit(main())
