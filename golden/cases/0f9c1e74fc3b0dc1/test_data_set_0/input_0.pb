
Binput_0JvC