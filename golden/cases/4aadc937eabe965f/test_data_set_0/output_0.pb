Boutput_0J¬X
z‹½?œR#îLJ¡¿~b-¹ìMÕ¿