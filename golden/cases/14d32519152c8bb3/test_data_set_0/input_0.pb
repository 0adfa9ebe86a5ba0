
Binput_0J¿Ïºs;N@û?r½È½Ü¸