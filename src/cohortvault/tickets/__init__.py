"""Error tickets: anyone reports a suspected data error; the data manager triages and corrects
it (the ``corrections`` app), and everyone concerned follows it to the end."""
