
Binput_1J𼼗:6