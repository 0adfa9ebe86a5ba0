
Binput_0J†´bB