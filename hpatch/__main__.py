from hpatch.cli import main

main()
