from voicestudio.cli import main

raise SystemExit(main())
