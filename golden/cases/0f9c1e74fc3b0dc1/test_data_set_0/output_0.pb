
Boutput_0JvC