from egpt_dsec.cli import main

raise SystemExit(main())
