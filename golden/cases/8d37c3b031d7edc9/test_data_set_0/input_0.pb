
Binput_0JgD¢½eÂwÁ¡·§´Tºı9