from imgrestore.cli import main

main()
