
Boutput_1J»-Ó;±¬F¶