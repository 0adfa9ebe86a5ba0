
Binput_0JR©ë@a¹ë@