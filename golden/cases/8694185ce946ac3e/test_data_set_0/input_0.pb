
Binput_0JB7¾.