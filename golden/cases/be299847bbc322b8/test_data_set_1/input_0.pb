
Binput_0JR©ë@