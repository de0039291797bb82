"""Practice mode without Telegram: drills as data, their checker, and how answers are graded.

`model` holds what a drill is, `check` loads and checks the files of `drills/`, `grading`
turns a rep's answers into an fsrs rating. Scheduling and storage are in
`bot.services.practice`.
"""
