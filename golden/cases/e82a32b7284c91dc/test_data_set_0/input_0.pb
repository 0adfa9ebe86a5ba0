
Binput_0J/D¥»=A