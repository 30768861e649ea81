from certify.cli import main

raise SystemExit(main())
