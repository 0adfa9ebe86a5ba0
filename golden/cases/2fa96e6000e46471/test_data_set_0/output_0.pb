
Boutput_0JßG6JfI¿I