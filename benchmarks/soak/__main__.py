from benchmarks.soak.soak import main

raise SystemExit(main())
