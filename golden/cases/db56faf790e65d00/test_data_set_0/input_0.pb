
Binput_0J…@­Ä