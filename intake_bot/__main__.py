from intake_bot.cli import main

main()
